GO ?= go

.PHONY: build test deps lint bench demo

build:
	$(GO) build -o bin/ferry ./cmd/ferry

# Installs Dovecot, mbsync, PostgreSQL, Chromium and Radicale from Debian packages when missing,
# and unpacks Cyrus IMAP and Courier-IMAP (which conflict with Dovecot) for internal/testimap.
deps:
	bash scripts/install-test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: deps lint
	$(GO) test -count=1 -timeout 25m ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./bench/

demo:
	$(GO) run ./cmd/ferry demo
