# The two commands a newcomer needs (as root, on Debian 12):
#   make demo    install dependencies, build, and run the end-to-end demonstration
#   make check   install dependencies, build with ASan+UBSan, and run every test
# Other targets: build, fuzz (libFuzzer binaries), bench, install, clean.

BUILD      ?= build
SANBUILD   ?= build-san
FUZZBUILD  ?= build-fuzz
PREFIX     ?= /usr/local

.PHONY: all deps build demo check fuzz fuzz-smoke bench install clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	scripts/demo.sh $(BUILD)

$(SANBUILD)/build.ninja:
	meson setup $(SANBUILD) --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false

check: deps $(SANBUILD)/build.ninja
	meson setup --reconfigure $(SANBUILD) >/dev/null
	ninja -C $(SANBUILD)
	scripts/check.sh $(SANBUILD)

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) --buildtype=debug -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	@echo "fuzz targets: $(FUZZBUILD)/fuzz/fuzz_*  (seed corpora in fuzz/corpus/)"

bench: deps
	bench/run.sh

install: build
	meson install -C $(BUILD) --destdir "$(DESTDIR)"
	@if [ -z "$(DESTDIR)" ]; then ldconfig; fi

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD) build-bench

# Before landing a parser change: every fuzz target for FUZZ_SECONDS (default 8) each.
fuzz-smoke: fuzz
	scripts/fuzz-smoke.sh $(FUZZBUILD)
