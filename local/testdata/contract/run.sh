#!/usr/bin/env bash
# Client contract tests: builds the local runner, starts three instances on free
# ports with fresh data directories and a clean environment, and runs the
# Node test suite in this directory against them with the published
# librechat-data-provider package.
#
#   main runner           BASE_URL                OPENAI_API_KEY=user_provided, default session
#   short-session runner  SHORT_SESSION_BASE_URL  nothing configured, SESSION_EXPIRY=2000 ms
#   chat runner           CHAT_BASE_URL           nothing configured (the built-in Offline
#                                                 endpoint), default session
#
# With CONTRACT_TARGET=lambda the three are instead fronts of
# local/lambdalocal, with the same settings: every area's real Lambda
# bootstrap behind an emulated API Gateway (and the chat stream behind an
# emulated streaming Function URL), with DynamoDB, S3 and Secrets Manager
# emulators. The bootstraps are built once, into dist/lambdalocal (kept, so
# that an unchanged build is not linked again), and shared by the three.
#
# Usage: [CONTRACT_TARGET=local|lambda] bash local/testdata/contract/run.sh [extra node --test arguments]
# Needs go, node (>= 20) and npm.
set -euo pipefail

target="${CONTRACT_TARGET:-local}"
case "$target" in
  local | lambda) ;;
  *) echo "contract: CONTRACT_TARGET must be local or lambda, not '$target'" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

# The models the main runner is configured with; the tests compare against it.
export CONTRACT_OPENAI_MODELS="gpt-4o-mini,gpt-4o"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/lcgo-contract.XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in go node npm; do
  command -v "$tool" >/dev/null || { echo "contract: $tool is required" >&2; exit 1; }
done

if [ "$target" = lambda ]; then
  echo "contract: building local/lambdalocal and the bootstraps"
  bootstraps="$root/dist/lambdalocal"
  (cd "$root" && go build -o "$tmp/lambdalocal" ./local/lambdalocal && "$tmp/lambdalocal" -build "$bootstraps")
else
  echo "contract: building the runner"
  (cd "$root" && go build -o "$tmp/local" ./local)
fi

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start NAME PORT [VAR=VALUE...]: starts the runner in its own directory (so no
# .env or librechat.yaml of the developer is read) with only the given
# environment; JWT secrets are unset, so the runner generates them.
start() {
  local name="$1" port="$2"
  shift 2
  mkdir -p "$tmp/$name"
  if [ "$target" = lambda ]; then
    start_lambda "$name" "$port" "$@"
    return
  fi
  (
    cd "$tmp/$name"
    exec env -i PATH="$PATH" HOME="$tmp/$name" TMPDIR="$tmp" \
      HOST=127.0.0.1 PORT="$port" DATA_DIR="$tmp/$name/data" \
      LOGIN_MAX=1000 REGISTER_MAX=1000 "$@" \
      "$tmp/local" -env-file "$tmp/$name/none.env"
  ) >"$tmp/$name.log" 2>&1 &
  pids+=("$!")
}

# start_lambda NAME PORT [VAR=VALUE...]: starts a lambdalocal front with the
# same settings; the variables go to every function's environment, and the
# secrets are generated (served through SECRETS_ARN).
start_lambda() {
  local name="$1" port="$2" kv
  shift 2
  local args=()
  for kv in LOGIN_MAX=1000 REGISTER_MAX=1000 "$@"; do
    args+=(-env "$kv")
  done
  (
    cd "$tmp/$name"
    exec env -i PATH="$PATH" HOME="$tmp/$name" TMPDIR="$tmp" \
      "$tmp/lambdalocal" -bin "$bootstraps" -host 127.0.0.1 -port "$port" \
      -data "$tmp/$name/data" "${args[@]}"
  ) >"$tmp/$name.log" 2>&1 &
  pids+=("$!")
}

# wait_healthy NAME URL PID: GET URL/health must answer 200 "OK" within 30 s.
wait_healthy() {
  local name="$1" url="$2" pid="$3"
  if ! node - "$url" "$pid" <<'EOF'; then
const [url, pid] = process.argv.slice(2);
const deadline = Date.now() + 30000;
const alive = () => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
(async () => {
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) { console.error('the runner exited'); process.exit(1); }
    try {
      const r = await fetch(url + '/health', { signal: AbortSignal.timeout(2000) });
      const body = await r.text();
      if (r.status === 200 && body === 'OK') process.exit(0);
      last = `${r.status} ${JSON.stringify(body.slice(0, 200))}`;
    } catch (e) {
      last = String(e.cause?.code || e.message);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  console.error(`GET /health did not answer 200 "OK" within 30 s (last: ${last})`);
  process.exit(1);
})();
EOF
    echo "contract: runner '$name' did not become healthy; its log:" >&2
    cat "$tmp/$name.log" >&2 || true
    exit 1
  fi
}

main_port="$(free_port)"
start main "$main_port" OPENAI_API_KEY=user_provided OPENAI_MODELS="$CONTRACT_OPENAI_MODELS"
short_port="$(free_port)"
while [ "$short_port" = "$main_port" ]; do short_port="$(free_port)"; done
start short "$short_port" SESSION_EXPIRY=2000
chat_port="$(free_port)"
while [ "$chat_port" = "$main_port" ] || [ "$chat_port" = "$short_port" ]; do chat_port="$(free_port)"; done
start chat "$chat_port"

export BASE_URL="http://127.0.0.1:$main_port"
export SHORT_SESSION_BASE_URL="http://127.0.0.1:$short_port"
export CHAT_BASE_URL="http://127.0.0.1:$chat_port"
wait_healthy main "$BASE_URL" "${pids[0]}"
wait_healthy short "$SHORT_SESSION_BASE_URL" "${pids[1]}"
wait_healthy chat "$CHAT_BASE_URL" "${pids[2]}"
echo "contract: $target runners up at $BASE_URL, $SHORT_SESSION_BASE_URL and $CHAT_BASE_URL"

cd "$here"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "contract: npm ci"
  npm ci --no-audit --no-fund
fi

# In the background so that a signal reaches the traps at once.
status=0
node --test --test-concurrency=1 --test-reporter=spec "$@" &
pids+=("$!")
wait "$!" || status=$?
if [ "$status" -ne 0 ]; then
  for name in main short chat; do
    echo "---- runner '$name' log (last 60 lines) ----" >&2
    tail -n 60 "$tmp/$name.log" >&2 || true
  done
fi
exit "$status"
