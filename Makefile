# The two commands a newcomer needs (as root, on Debian 12):
#   make demo    install dependencies, build, and run the end-to-end demonstration
#   make check   install dependencies, build with ASan+UBSan, and run every test
# Other targets: build, fuzz (libFuzzer binaries), fuzz-smoke (a timed run of each),
# bench, install, clean.
# Dependencies (scripts/install-deps.sh): build and install take what building
# and running need (deps-build.txt, deps-run.txt); demo, check, bench and fuzz
# also the test bed and interop peers (deps-test.txt), services left disabled.

BUILD      ?= build
SANBUILD   ?= build-san
FUZZBUILD  ?= build-fuzz
PREFIX     ?= /usr/local

.PHONY: all deps deps-all build demo check fuzz fuzz-smoke bench install clean

all: build

deps:
	@scripts/install-deps.sh --build --run

deps-all:
	@scripts/install-deps.sh --build --run --test

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The demo tells its story first: the build goes to a log, and only its
# last lines are shown if it fails. It needs the test bed's packages too
# (deps-all): coturn as the STUN server beside dnsd, openssl, ping, python3.
DEMOLOG    ?= $(BUILD)-demo.log

demo: deps-all
	@echo "demo: building quietly (log: $(DEMOLOG))"
	@{ [ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized; } >$(DEMOLOG) 2>&1 && \
		ninja -C $(BUILD) >>$(DEMOLOG) 2>&1 || { tail -30 $(DEMOLOG); echo "demo: build failed, see $(DEMOLOG)"; exit 1; }
	@scripts/demo.sh $(BUILD)

$(SANBUILD)/build.ninja:
	meson setup $(SANBUILD) --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false

check: deps-all $(SANBUILD)/build.ninja
	meson setup --reconfigure $(SANBUILD) >/dev/null
	ninja -C $(SANBUILD)
	scripts/check.sh $(SANBUILD)

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) --buildtype=debug -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps-all $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	@echo "fuzz targets: $(FUZZBUILD)/fuzz/fuzz_*  (seed corpora in fuzz/corpus/)"

bench: deps-all
	bench/run.sh

install: build
	meson install -C $(BUILD) --destdir "$(DESTDIR)"
	@if [ -z "$(DESTDIR)" ]; then ldconfig; fi

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD) build-bench

# Before landing a parser change: every fuzz target for FUZZ_SECONDS (default 8) each.
fuzz-smoke: fuzz
	scripts/fuzz-smoke.sh $(FUZZBUILD)
