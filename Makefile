# maskattn build. `make` builds build/maskattn, `make run` starts the server,
# `make test` runs every test (unit, end-to-end, quality, and the sanitizer pass).

ifeq ($(origin CC),default)
CC := gcc
endif

.DEFAULT_GOAL := all

BUILD    ?= build
SANITIZE ?=
PYTHON   := /usr/bin/python3

MODULES  := api masks attention pipeline server cli
PKGS     := libmicrohttpd libcjson nettle libpng openblas libavformat libavcodec libavutil libswscale libswresample hiredis libcurl

# Debian packages needed to build and test (checked by `deps`).
DEB_PKGS := gcc make pkg-config libmicrohttpd-dev libcjson-dev nettle-dev libpng-dev libopenblas-dev \
            libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
            libcmocka-dev ffmpeg python3-pytest python3-requests python3-numpy \
            python3-jsonschema python3-yaml wrk libhiredis-dev libcurl4-openssl-dev redis-server haproxy \
            clang libclang-rt-14-dev chromium

ARCH_FLAGS ?= -march=native
OPT_FLAGS  ?= -O3
# -Wno-psabi: without AVX-512 (the image's x86-64-v2), GCC warns that 64-byte vectors
# pass differently than they would with it; the attention kernel's vector functions are
# all static, so no such call crosses an ABI boundary (attention/attn_simd.h).
CFLAGS   := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-psabi -g $(OPT_FLAGS) $(ARCH_FLAGS) \
            -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifeq ($(SANITIZE),1)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# The fuzzing build (CC=clang): the libraries get libFuzzer's coverage
# instrumentation, the fuzz targets link libFuzzer's main, and only the
# shared libraries they use (OpenBLAS's idle threads would spin in each).
ifeq ($(SANITIZE),fuzz)
CFLAGS   += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=fuzzer,address,undefined -Wl,--as-needed
endif

# Each module is a static library; a module links only what it depends on,
# so the one-way dependencies of the layout are checked at link time.
LINK_api       := api
LINK_masks     := masks
LINK_attention := attention
LINK_pipeline  := pipeline api attention masks
LINK_server    := server pipeline api attention masks
LINK_cli       := cli server pipeline api attention masks

module_lib = $(BUILD)/lib$(1).a
link_libs  = $(foreach m,$(LINK_$(1)),$(call module_lib,$(m)))

MAIN_SRC := cli/main.c
ALL_OBJ  :=
define module_rules
$(1)_OBJ := $$(patsubst %.c,$$(BUILD)/obj/%.o,$$(filter-out $(MAIN_SRC),$$(wildcard $(1)/*.c)))
ALL_OBJ  += $$($(1)_OBJ)
$$(call module_lib,$(1)): $$($(1)_OBJ)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

# The web studio (server/studio/) is embedded in libserver: a generated source
# holds each file's bytes and ETag (server/srv_static_embed.sh; od, sed, sha256sum).
STUDIO_FILES := $(sort $(wildcard $(addprefix server/studio/*.,html js css svg png)))
STUDIO_SRC   := $(BUILD)/gen/srv_studio_files.c
STUDIO_OBJ   := $(BUILD)/obj/gen/srv_studio_files.o
ALL_OBJ      += $(STUDIO_OBJ)
$(STUDIO_SRC): server/srv_static_embed.sh server/studio $(STUDIO_FILES)
	@mkdir -p $(@D)
	sh server/srv_static_embed.sh $@ $(STUDIO_FILES)
$(STUDIO_OBJ): $(STUDIO_SRC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(call module_lib,server): $(STUDIO_OBJ)

MAIN_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(MAIN_SRC))
BIN      := $(BUILD)/maskattn

# Unit tests mirror the source tree: tests/unit/<module>/test_<file>.c.
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
ifneq ($(MODULE),)
UNIT_BIN := $(filter $(BUILD)/tests/$(MODULE)/%,$(UNIT_BIN))   # make unit MODULE=masks
endif
UNIT_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

.PHONY: all deps run test unit portable e2e quality sanitize bench clean test-cluster fuzz fuzz-bin

all: deps
	@$(MAKE) --no-print-directory $(BIN)

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing:" $$missing; \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	    else \
	        echo "missing packages; run: sudo apt-get install -y" $$missing; exit 1; \
	    fi; \
	fi

$(BIN): $(MAIN_OBJ) $(call link_libs,cli)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# A test of module M links M's libraries: build/tests/M/test_x from tests/unit/M/test_x.c.
.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $$(call link_libs,$$(firstword $$(subst /, ,$$*)))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(UNIT_LIBS) $(LDLIBS)

run: all
	$(BIN) serve

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# The OpenAPI validator the e2e tests run (npm, pinned by package-lock.json).
OPENAPI_NPM := tests/openapi/node_modules/.package-lock.json
$(OPENAPI_NPM): tests/openapi/package.json tests/openapi/package-lock.json
	cd tests/openapi && npm ci --no-audit --no-fund --loglevel=error

e2e: $(BIN) $(OPENAPI_NPM)
	MASKATTN_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e $(PYTEST_ARGS)

# Scale-out on loopback: redis-server, three replicas and haproxy.
test-cluster: $(BIN)
	MASKATTN_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/cluster $(PYTEST_ARGS)

# Soak (tests/soak/soak.py): the server under mixed traffic on loopback, its memory
# and descriptors watched. `make soak` runs SOAK_SECONDS (15 minutes); `make test`
# runs test-soak, a one-minute one.
.PHONY: soak test-soak
SOAK_SECONDS ?= 900
soak: $(BIN)
	MASKATTN_BIN=$(abspath $(BIN)) $(PYTHON) tests/soak/soak.py --seconds $(SOAK_SECONDS)

test-soak: $(BIN)
	MASKATTN_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -s -p no:cacheprovider tests/soak $(PYTEST_ARGS)

quality: $(BIN)
	MASKATTN_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -s -p no:cacheprovider --rootdir=tests/bench tests/bench/test_quality.py $(PYTEST_ARGS)

# The whole suite once more under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 unit
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 e2e \
	    PYTEST_ARGS='-m "not slow"'

# The container image's baseline (x86-64-v2: no AVX-512, so the vector code's portable
# paths): the binary builds, and the attention module's unit tests pass on those paths.
portable:
	@$(MAKE) --no-print-directory BUILD=build/portable ARCH_FLAGS=-march=x86-64-v2 \
	    build/portable/maskattn
	@$(MAKE) --no-print-directory BUILD=build/portable ARCH_FLAGS=-march=x86-64-v2 \
	    unit MODULE=attention

test: all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory portable
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory test-studio
	@$(MAKE) --no-print-directory test-cluster
	@$(MAKE) --no-print-directory quality
	@$(MAKE) --no-print-directory sanitize
	@$(MAKE) --no-print-directory test-deploy
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)
	@$(MAKE) --no-print-directory test-soak

# The web studio in Debian's Chromium, driven by Playwright (playwright-core from
# npm, pinned by package-lock.json): a whole edit through the page, screenshots in
# build/studio-screenshots/ (see README, Web studio).
.PHONY: test-studio
STUDIO_NPM := tests/studio/node_modules/.package-lock.json
$(STUDIO_NPM): tests/studio/package.json tests/studio/package-lock.json
	cd tests/studio && npm ci --no-audit --no-fund --loglevel=error

test-studio: $(BIN) $(STUDIO_NPM)
	@$(MAKE) --no-print-directory deps DEB_PKGS="chromium ffmpeg"
	MASKATTN_BIN=$(abspath $(BIN)) node --test tests/studio/studio.test.mjs

# Deployment files (tests/deploy): deploy/k8s against the Kubernetes API schemas and
# deploy/compose.yaml against the Compose specification (npm, pinned by
# package-lock.json), deploy/haproxy.cfg checked and run on loopback in front of the binary.
.PHONY: test-deploy image
DEPLOY_NPM := tests/deploy/node_modules/.package-lock.json
$(DEPLOY_NPM): tests/deploy/package.json tests/deploy/package-lock.json
	cd tests/deploy && npm ci --no-audit --no-fund --loglevel=error

test-deploy: $(BIN) $(DEPLOY_NPM)
	@$(MAKE) --no-print-directory deps DEB_PKGS="haproxy ffmpeg python3-pytest python3-requests python3-yaml python3-jsonschema"
	MASKATTN_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/deploy $(PYTEST_ARGS)

# The container image, built and smoke-tested without a Docker engine (debootstrap +
# buildah, as root; minutes, so not part of `make test`). See README, Deploy.
image:
	deploy/build-image.sh
	deploy/smoke-image.sh

# Benchmark programs: tests/bench/<name>.c links the attention library.
BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))
$(BUILD)/bench/%: tests/bench/%.c $(call link_libs,attention)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# One table in one run (tests/bench/run.py): sgemm, our kernel beside NumPy and PyTorch
# references on equal work, whole jobs beside ffmpeg filters; PyTorch is installed here only.
bench: all $(BENCH_BIN)
	@$(MAKE) --no-print-directory deps DEB_PKGS="ffmpeg time python3-numpy python3-torch"
	MASKATTN_BIN=$(abspath $(BIN)) MASKATTN_BENCH_DIR=$(abspath $(BUILD)/bench) $(PYTHON) tests/bench/run.py

# libFuzzer targets: tests/fuzz/fuzz_<name>.c links the libraries of the module
# it fuzzes, all built by clang into build/fuzz. `make fuzz` replays
# tests/fuzz/regress/<name>/, then fuzzes each target for FUZZ_SECONDS on a copy
# of tests/fuzz/corpus/<name>/ (see tests/fuzz/run.sh and README, Fuzzing).
FUZZ_BUILD        := build/fuzz
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS := 40
FUZZ_NAMES        := api_spec mask_image srv_upload pipe_reader
FUZZ_MODULE_api_spec    := api
FUZZ_MODULE_mask_image  := masks
FUZZ_LDLIBS_mask_image  := $(shell pkg-config --libs zlib 2>/dev/null)
FUZZ_MODULE_srv_upload  := server
FUZZ_MODULE_pipe_reader := pipeline
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz_%)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $$(call link_libs,$$(FUZZ_MODULE_$$*))
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(FUZZ_LDLIBS_$*) $(LDLIBS)

fuzz-bin: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) SANITIZE=fuzz CC=clang fuzz-bin
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

clean:
	rm -rf build

# The OpenAPI document is embedded in its object (.incbin), which the
# compiler's dependency files do not track.
$(BUILD)/obj/api/api_openapi.o: api/api_openapi.yaml

-include $(ALL_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d) $(FUZZ_BIN:=.d)
