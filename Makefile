# The two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go

# The shared core and the area handlers must also build for the Cloudflare
# edge variant (Go compiled to Wasm). Storage and platform adapters and the
# entry points are left out: they are the parts that do not run there.
WASM_EXCLUDE := /store/sqlite|/setup$$|/platform/|/app/apptest|/lambda$$|/gcp|/deploytest|/local
WASM_PKGS = $(shell $(GO) list ./shared/... ./functions/... | grep -v -E '$(WASM_EXCLUDE)')

.PHONY: run test deps fmt vet wasm gotest contract contract-lambda lambda bench clean

run:
	$(GO) run ./local

test: deps fmt vet wasm gotest contract contract-lambda

# Tests start their own redis-server (Debian's) on a free port and stop it;
# install it once when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
deps:
	@command -v redis-server >/dev/null || { \
	  $(SUDO) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends redis-server; }

fmt:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Builds that leave provider SDKs out (see shared/provider/registry).
NOPROVIDERS := lcgo_no_anthropic,lcgo_no_google,lcgo_no_bedrock

vet:
	$(GO) vet ./...
	$(GO) vet -tags $(NOPROVIDERS) ./shared/provider/registry ./functions/chat/...

wasm:
	GOOS=js GOARCH=wasm $(GO) build $(WASM_PKGS)

gotest:
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -tags $(NOPROVIDERS) ./shared/provider/registry

contract:
	bash local/testdata/contract/run.sh

# The same suite through Lambda: every area's bootstrap under a Runtime API
# server behind local/lambdalocal, with DynamoDB and S3 emulators.
contract-lambda:
	CONTRACT_TARGET=lambda bash local/testdata/contract/run.sh

lambda:
	bash infra/lambda/build.sh

bench:
	$(GO) run ./local/bench

clean:
	rm -rf dist
