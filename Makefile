# make test: everything CI checks. make bench: the benchmarks against Node
# (and later Redis/uWSGI) peers, side by side; they print tables, nothing is
# timed in the tests.
GO       ?= go
# Fuzzing is bounded by executions, not by a duration: Go 1.26's fuzz
# coordinator can fail a target with "context deadline exceeded" when a
# duration ends (go.dev/issue/75804), which no input caused.
FUZZTIME ?= 100000x

# staticcheck is pinned: 0.8.2 is staticcheck 2026.2.2, which knows Go 1.26.
# make test installs it (go install) when it is missing or another version.
STATICCHECK_VERSION ?= 0.8.2
STATICCHECK = $(shell $(GO) env GOPATH | cut -d: -f1)/bin/staticcheck

# The systems the module must build for: the library, its tests and the
# examples, each compiled and vetted (make cross).
CROSS ?= linux/amd64 linux/arm64 linux/386 darwin/arm64 freebsd/amd64 windows/amd64
# staticcheck runs once per distinct set of files (Linux, Linux on 386,
# the other Unix systems, Windows): each system costs as much as a build.
# A file for one more system (say _freebsd.go) adds that system here.
STATICCHECK_SYSTEMS ?= linux/amd64 linux/386 darwin/arm64 windows/amd64

.PHONY: test deps fmt vet staticcheck race allocs fuzz cross bench bench-deps

test: deps fmt vet staticcheck race allocs fuzz cross

# What the tests need beyond Go itself: staticcheck; redis-server (the
# Redis backend's tests start their own, on free loopback ports); Node and
# Python (gocluster run serves through programs in both) and tmux (gocluster
# top is checked in a real terminal). The tests start real worker processes
# from the test binary and use /bin/sh as a foreign worker.
deps:
	@command -v $(GO) >/dev/null || { echo "make test: Go is not on PATH"; exit 1; }
	@need=; for c in redis-server:redis-server node:nodejs python3:python3 tmux:tmux; do \
		command -v $${c%%:*} >/dev/null || need="$$need $${c#*:}"; done; \
	[ -z "$$need" ] || { echo "installing$$need"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$need >/dev/null || \
		{ echo "make test: install$$need (Debian: apt-get install$$need)"; exit 1; }; }
	@case "$$($(STATICCHECK) -version 2>/dev/null)" in *"($(STATICCHECK_VERSION))"*) ;; *) \
		echo "installing staticcheck $(STATICCHECK_VERSION)"; \
		GOBIN= $(GO) install honnef.co/go/tools/cmd/staticcheck@v$(STATICCHECK_VERSION) || exit 1;; \
	esac

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# One run over STATICCHECK_SYSTEMS: code behind build tags is checked too.
staticcheck:
	@printf '%s\n' $(STATICCHECK_SYSTEMS) | awk -F/ '{ printf "%s_%s: GOOS=%s GOARCH=%s\n", $$1, $$2, $$1, $$2 }' | \
		$(STATICCHECK) -matrix ./...

race:
	$(GO) test -race -count=1 -timeout 8m ./...

# Allocation counts hold only without the race detector (it makes sync.Pool
# drop items at random): the tests that count them run again without it.
allocs:
	$(GO) test -count=1 -run 'Allocations' ./...

# Every decoder of bytes from another process has a fuzz target: package:target,
# or package:target:count for one whose every run does file I/O or large
# allocations (FUZZTIME otherwise).
FUZZ_TARGETS = ./internal/wire:FuzzReadFrame ./internal/wire:FuzzDecodeWrite ./internal/wire:FuzzDecodeEvent \
	./internal/wire:FuzzDecodeSnapshot ./internal/wire:FuzzParseStateReply ./internal/wire:FuzzParseLoadEnd \
	./internal/wire:FuzzParseListen ./internal/wire:FuzzParseListenReply ./internal/wire:FuzzParsePeers \
	.:FuzzDecodeErr ./internal/state:FuzzScan ./internal/kvlink:FuzzServerStateRequest \
	./redis:FuzzParseChange ./redis:FuzzParseEntry ./control:FuzzReadRequest \
	./logs:FuzzSplitPrefix ./logs:FuzzParse ./logs:FuzzTailFile ./logs:FuzzWriteTail:20000x \
	./metrics:FuzzReadFrame:20000x ./metrics:FuzzReadUvarints ./metrics:FuzzDecodeFamilies ./metrics:FuzzReadLoop \
	./cmd/gocluster:FuzzReadLine ./cmd/gocluster:FuzzParseListen ./cmd/gocluster:FuzzParseSize \
	./cmd/gocluster:FuzzParseReady ./cmd/gocluster:FuzzLoadConfig:20000x ./internal/systemd:FuzzParseNotification ./metrics:FuzzFold:50000x

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$(FUZZTIME); \
		case $$rest in *:*) n=$${rest#*:};; esac; \
		echo "fuzz $$name ($$pkg, $$n)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$n $$pkg || exit 1; \
	done

# Build, vet and compile the tests (not run them) for every system in CROSS.
cross:
	@for t in $(CROSS); do \
		echo "cross $$t"; \
		export GOOS=$${t%/*} GOARCH=$${t#*/}; \
		$(GO) build ./... && $(GO) vet ./... && $(GO) test -c -o /dev/null ./... >/dev/null || exit 1; \
	done

bench-deps:
	@missing=""; \
	command -v node >/dev/null || [ -x /usr/bin/node ] || missing="$$missing nodejs"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v gunicorn >/dev/null || missing="$$missing gunicorn"; \
	command -v uwsgi >/dev/null || missing="$$missing uwsgi-core"; \
	[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || missing="$$missing uwsgi-plugin-python3"; \
	{ command -v redis-server && command -v redis-benchmark; } >/dev/null || missing="$$missing redis-server"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then echo "installing$$missing for the benchmarks"; \
		apt-get update && apt-get install -y $$missing; fi
	@# the sessions section's Node peer: its npm packages as package-lock.json pins them
	@cd bench/node/session && { [ node_modules/.package-lock.json -nt package-lock.json ] || \
		npm ci --no-audit --no-fund; }
	@# the cli section's peer: pm2, pinned by bench/pm2/package-lock.json
	@cd bench/pm2 && { [ node_modules/.package-lock.json -nt package-lock.json ] || \
		npm ci --no-audit --no-fund; }

bench: bench-deps
	$(GO) run ./bench
