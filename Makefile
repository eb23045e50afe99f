# autodev — the two set-up commands named in README.md:
#   make run     install what is missing, build, run the demo on embedded defaults
#   make check   install what is missing, build with ASan+UBSan, run every test
# Meson and ninja do the real work; this file only strings the steps together.

BUILD       ?= build
ASAN_BUILD  ?= build-asan
BENCH_BUILD ?= build-bench

.PHONY: all run check bench deps build build-asan clean

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

# Benchmarks on an optimised build without sanitizers; numbers, no assertions.
bench: deps
	@test -f $(BENCH_BUILD)/build.ninja || meson setup $(BENCH_BUILD) --buildtype=release -Dtests=false -Dbench=true
	ninja -C $(BENCH_BUILD)
	./$(BENCH_BUILD)/bench/bench_store $(BENCH_ARGS)
	./$(BENCH_BUILD)/bench/bench_bus $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD)
