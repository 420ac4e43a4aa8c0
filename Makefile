# sard developer targets. `make help` lists them.
#
#   make build                       bin/sard-server (and bin/sard-cli once it exists)
#   make test                        go test ./...
#   make vet                         go vet plus a gofmt check
#   make fuzz FUZZTIME=30s           every Fuzz target, one after another
#   make bench                       redis-benchmark against sard and redis-server, interleaved
#   make bench BENCH_ARGS='-rounds 5 -markdown'
#   make bench SARD_BIN=$(which redis-server)   check the harness itself (redis vs redis)
#   make bench-mem                   RSS and bytes per key after loading 1,000,000 keys

GO        ?= go
FUZZTIME  ?= 30s
SARD_BIN  ?= bin/sard-server
REDIS_BIN ?= redis-server
BENCH_ARGS ?=

.PHONY: help build test vet fuzz bench bench-mem bench-tool

help:
	@sed -n 's/^#   //p' Makefile

build:
	$(GO) build -o bin/sard-server ./cmd/sard-server
	@if [ -d cmd/sard-cli ]; then echo "$(GO) build -o bin/sard-cli ./cmd/sard-cli"; $(GO) build -o bin/sard-cli ./cmd/sard-cli; fi

test:
	$(GO) test ./...

vet:
	$(GO) vet ./...
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# go test -fuzz takes one target in one package per invocation, so find every
# `func FuzzXxx` in the test files and run each in turn.
fuzz:
	@found=0; \
	for f in $$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | grep -v '/testdata/' | sort); do \
		dir=$$(dirname "$$f"); \
		for name in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*\(' "$$f" | sed -e 's/^func //' -e 's/($$//'); do \
			found=1; \
			echo "== $$dir $$name ($(FUZZTIME))"; \
			$(GO) test -run=NONE -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "./$${dir#./}" || exit 1; \
		done; \
	done; \
	if [ $$found = 0 ]; then echo "no Fuzz targets found"; fi

bench-tool:
	$(GO) build -o bin/sidebyside ./bench/sidebyside

# The default bench takes about 3-5 minutes on a 2-core machine.
bench: bench-tool $(if $(filter bin/sard-server,$(SARD_BIN)),build)
	bin/sidebyside -sard-bin $(SARD_BIN) -redis-bin $(REDIS_BIN) $(BENCH_ARGS)

bench-mem: bench-tool $(if $(filter bin/sard-server,$(SARD_BIN)),build)
	bin/sidebyside -mem -sard-bin $(SARD_BIN) -redis-bin $(REDIS_BIN) $(BENCH_ARGS)
