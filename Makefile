# autodev — the two set-up commands named in README.md:
#   make run     install what is missing, build, run the demo on embedded defaults
#   make check   install what is missing, build with ASan+UBSan, run every test
#   make install install the binary, the man page and the bash completion under
#                PREFIX (default /usr/local), staged under DESTDIR when given
# Meson and ninja do the real work; this file only strings the steps together.

BUILD       ?= build
ASAN_BUILD  ?= build-asan
BENCH_BUILD ?= build-bench

PREFIX      ?= /usr/local
DESTDIR     ?=

.PHONY: all run check bench fuzz deps build build-asan install clean

all: build

deps:
	@scripts/install-deps

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=debugoptimized -Dtests=false -Dbench=false
	ninja -C $(BUILD)

build-asan: deps
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false
	ninja -C $(ASAN_BUILD)

run: build
	./$(BUILD)/autodev demo

check: build-asan
	@tests/run-all.sh $(ASAN_BUILD)

# The build's prefix follows PREFIX (reconfigured only when it differs); meson
# installs the binary and the man page, and the binary itself writes its
# completion, generated from its command table like --help and the man page.
COMPLETIONS = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
install: build
	@cur=$$(/usr/bin/python3 -c 'import json, sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "prefix"))' $(BUILD)/meson-info/intro-buildoptions.json) && \
	    if [ "$$cur" != "$(PREFIX)" ]; then meson configure $(BUILD) -Dprefix=$(PREFIX); fi
	meson install -C $(BUILD) --quiet $(if $(DESTDIR),--destdir "$(abspath $(DESTDIR))",)
	install -d "$(COMPLETIONS)"
	$(BUILD)/autodev completion bash >"$(COMPLETIONS)/autodev"

# Benchmarks on an optimised build without sanitizers; numbers, no assertions.
bench: deps
	@test -f $(BENCH_BUILD)/build.ninja || meson setup $(BENCH_BUILD) --buildtype=release -Dtests=false -Dbench=true
	ninja -C $(BENCH_BUILD)
	./$(BENCH_BUILD)/bench/bench_store $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_bus $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_sandbox $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_edit $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_llm $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_learn $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_synth $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_alpha $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_research $(BENCH_ARGS)
	sh bench/bench_http.sh ./$(BENCH_BUILD)/autodev $(BENCH_ARGS)

# libFuzzer on every parser driver, FUZZ_SECONDS each, from a scratch copy of
# fuzz/corpus (merge finds back with: DRIVER -merge=1 fuzz/corpus/X build-fuzz/corpus/X).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@command -v clang >/dev/null || { echo "make fuzz: needs clang: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzzers=true -Dtests=false -Dbench=false -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	@for d in episode settings time; do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$d && cp -n fuzz/corpus/$$d/* $(FUZZ_BUILD)/corpus/$$d/ && \
	    $(FUZZ_BUILD)/fuzz/fuzz_$$d -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(FUZZ_BUILD)/corpus/$$d || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD) $(FUZZ_BUILD)
