#!/usr/bin/env bash
# Builds one Lambda zip per API area: dist/<area>.zip holding a single
# "bootstrap" executable for the provided.al2023 runtime. The areas are the
# directories functions/<area>/lambda.
#
#   GOARCH=amd64 bash infra/lambda/build.sh      # default arm64
#   bash infra/lambda/build.sh auth              # only the named areas
#   LCGO_TAGS=lcgo_no_google,lcgo_no_bedrock bash infra/lambda/build.sh chat
#                                                # leave unused provider SDKs out
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
dist="${DIST:-$root/dist}"
arch="${GOARCH:-arm64}"

if [ "$#" -gt 0 ]; then
	areas=("$@")
else
	areas=()
	for d in functions/*/lambda; do
		[ -d "$d" ] || continue
		a="${d#functions/}"
		areas+=("${a%/lambda}")
	done
fi
if [ "${#areas[@]}" -eq 0 ]; then
	echo "build.sh: no functions/*/lambda directories found" >&2
	exit 1
fi

# zipit ZIP DIR: writes ZIP with DIR/bootstrap at its root, executable.
zipit() {
	local zipfile="$1" dir="$2"
	rm -f "$zipfile"
	if command -v zip >/dev/null 2>&1; then
		(cd "$dir" && zip -q -X "$zipfile" bootstrap)
	elif python3 -c 'import zipfile' >/dev/null 2>&1; then
		python3 - "$zipfile" "$dir/bootstrap" <<'PY'
import sys, zipfile
out, src = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f, zipfile.ZipFile(out, "w") as z:
    z.writestr(info, f.read())
PY
	else
		gozip "$zipfile" "$dir/bootstrap"
	fi
}

# gozip ZIP FILE: the same with nothing but the Go toolchain.
gozip() {
	local src="$tmp/gozip"
	mkdir -p "$src"
	printf 'module gozip\n\ngo 1.21\n' >"$src/go.mod"
	cat >"$src/main.go" <<'GO'
package main

import (
	"archive/zip"
	"os"
	"time"
)

func main() {
	data, err := os.ReadFile(os.Args[2])
	check(err)
	f, err := os.Create(os.Args[1])
	check(err)
	z := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755)
	w, err := z.CreateHeader(h)
	check(err)
	_, err = w.Write(data)
	check(err)
	check(z.Close())
	check(f.Close())
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
GO
	(cd "$src" && GOFLAGS= GOOS= GOARCH= go run . "$1" "$2")
}

mkdir -p "$dist"
dist="$(cd "$dist" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for area in "${areas[@]}"; do
	if [ ! -d "functions/$area/lambda" ]; then
		echo "build.sh: no such area: $area (functions/$area/lambda)" >&2
		exit 1
	fi
	mkdir -p "$tmp/$area"
	echo "building $area (linux/$arch)"
	CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -tags "lambda.norpc${LCGO_TAGS:+,$LCGO_TAGS}" -trimpath -ldflags="-s -w" \
		-o "$tmp/$area/bootstrap" "./functions/$area/lambda"
	chmod 755 "$tmp/$area/bootstrap"
	zipit "$dist/$area.zip" "$tmp/$area"
	echo "  $dist/$area.zip"
done
