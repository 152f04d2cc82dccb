GO ?= go

.PHONY: build test deps lint bench demo fuzz docs-images

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
	$(GO) mod tidy -diff

# -race: every test runs under the race detector (see HACKING.md, "Races").
# The engine's package takes 8 minutes on an idle 2-core machine and 23 on
# a busy one: the timeout leaves room for the busy one.
test: deps lint
	$(GO) test -race -count=1 -timeout 40m ./...

# Runs each fuzzer for FUZZTIME (go test runs only their seeds, from the
# code and testdata/fuzz). A failing input is saved under testdata/fuzz:
# commit it with the fix, so that go test keeps checking it.
FUZZTIME ?= 2m
FUZZERS = ./internal/mailboxcsv:FuzzParse ./internal/playbook:FuzzLoad ./internal/imapconn:FuzzServerAnswers ./internal/waves:FuzzPlan ./internal/waves:FuzzMailboxes ./internal/imapconn:FuzzGmailFetch

fuzz:
	@set -e; for f in $(FUZZERS); do \
		echo "fuzz $${f#*:} in $${f%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${f#*:}$$" -fuzztime $(FUZZTIME) "$${f%%:*}"; \
	done

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./bench/
	$(GO) test -run '^$$' -bench BenchmarkPlan -benchtime 5x ./internal/waves/

demo:
	$(GO) run ./cmd/ferry demo

# Takes the pictures of docs/cutover.md again (Chromium on the demo with a local DNS server).
docs-images:
	FERRY_DOC_IMAGES=$(CURDIR)/docs/img $(GO) test -count=1 -run '^TestCutoverInABrowser$$' ./cmd/ferry/
