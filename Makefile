# pvback build. GNU make + pkg-config; see README.md.
#   make                 build everything (-O2 -g, warnings are errors)
#   make check           build and run every test (unit + integration)
#   make SANITIZE=1 check   the same under ASan+UBSan (separate build tree)
#   make bench           benchmarks (not tests): same-run ratios
#   make install         honours PREFIX and DESTDIR

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
SBINDIR  = $(PREFIX)/sbin
DATADIR  = $(PREFIX)/share/pvback
UNITDIR  = $(PREFIX)/lib/systemd/system

CC      ?= cc
# json-c: the control socket's answers (pvbackd) and their reader (pvback-inspect).
PKGS     = xenstore xengnttab xenevtchn xencontrol xentoolcore json-c
CSTD     = -std=gnu11
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(SANITIZE),1)
BUILD   ?= build/san
OPT      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN    = -fsanitize=address,undefined
else
BUILD   ?= build/release
OPT      = -O2 -g
LDSAN    =
endif

# Recursive on purpose: evaluated inside recipes, after the deps step ran.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)
# Extra libraries of the backend and frontends (liburing for blkback's I/O engine).
BACKEND_LIBS  = $(shell pkg-config --libs liburing 2>/dev/null) -lm
FRONTEND_LIBS = -lm

CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -D_GNU_SOURCE -I. -Icommon -Ibackend -Ifrontend $(PKG_CFLAGS) \
             -DPVBACK_SCHEMA_DIR='"$(DATADIR)/xenstore-schema"' $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread $(LDLIBS)

COMMON_SRC = $(wildcard common/*.c)
SIM_SRC    = $(wildcard tools/sim/*.c)
XSV_SRC    = $(wildcard tools/xs-validate/*.c)
INSPECT_SRC = $(wildcard tools/inspect/*.c)
DEMO_SRC   = $(wildcard tools/demo/*.c)
PVBACKD_MAIN = $(wildcard backend/main.c)
NETFRONT_MAIN = $(wildcard frontend/main_netfront.c)
BLKFRONT_MAIN = $(wildcard frontend/main_blkfront.c)
TESTLIB_SRC = $(wildcard tests/lib/*.c)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
INTEG_SRC  = $(wildcard tests/integration/test_*.c)
BENCH_SRC  = $(wildcard tools/bench/bench_*.c)
SIMLIB_SRC = $(filter-out tools/sim/main.c,$(SIM_SRC))
# Backend and frontend code lives in libraries so unit tests reach its pure parts.
OFFLOAD_SRC  = $(wildcard backend/offload/*.c)
BACKEND_SRC  = $(filter-out backend/main.c $(OFFLOAD_SRC),$(wildcard backend/*.c backend/*/*.c))
FRONTEND_SRC = $(filter-out frontend/main_%.c,$(wildcard frontend/*.c frontend/*/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON = $(BUILD)/libpvcommon.a
LIBSIM    = $(BUILD)/libpvsim.a
LIBTEST   = $(BUILD)/libpvtest.a
LIBBACKEND  = $(BUILD)/libpvbackend.a
LIBOFFLOAD  = $(BUILD)/libpvoffload.a
LIBFRONTEND = $(BUILD)/libpvfrontend.a
SIM_BIN   = $(BUILD)/bin/pvback-sim
XSV_BIN   = $(BUILD)/bin/pvback-xs-validate
INSPECT_BIN = $(BUILD)/bin/pvback-inspect
DEMO_BIN  = $(BUILD)/bin/pvback-demo
PVBACKD_BIN  = $(BUILD)/bin/pvbackd
NETFRONT_BIN = $(BUILD)/bin/pvback-netfront
BLKFRONT_BIN = $(BUILD)/bin/pvback-blkfront
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
INTEG_BINS = $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRC))
BENCH_BINS = $(patsubst tools/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
PROGRAMS  = $(SIM_BIN) $(if $(XSV_SRC),$(XSV_BIN)) $(if $(INSPECT_SRC),$(INSPECT_BIN)) \
            $(if $(PVBACKD_MAIN),$(PVBACKD_BIN)) \
            $(if $(NETFRONT_MAIN),$(NETFRONT_BIN)) $(if $(BLKFRONT_MAIN),$(BLKFRONT_BIN))
HELPERS   = $(if $(DEMO_SRC),$(DEMO_BIN))
DEPS_STAMP = $(BUILD)/.deps-ok

.PHONY: all check unit integration bench demo install installcheck clean deps format
all: $(PROGRAMS) $(HELPERS) $(UNIT_BINS) $(INTEG_BINS) $(BENCH_BINS)

# A fresh machine needs no manual step: the deps script installs what is missing.
$(DEPS_STAMP): scripts/install-deps.sh
	@./scripts/install-deps.sh
	@mkdir -p $(@D) && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(if $(filter tests/% tools/bench/%,$<),$(CHECK_CFLAGS) -Itests/lib) -MMD -MP -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(LIBSIM): $(call obj,$(SIMLIB_SRC))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(LIBTEST): $(call obj,$(TESTLIB_SRC))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(LIBBACKEND): $(call obj,$(BACKEND_SRC))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBFRONTEND): $(call obj,$(FRONTEND_SRC))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBOFFLOAD): $(call obj,$(OFFLOAD_SRC))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(SIM_BIN): $(call obj,tools/sim/main.c) $(LIBSIM) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(XSV_BIN): $(call obj,$(XSV_SRC)) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(INSPECT_BIN): $(call obj,$(INSPECT_SRC)) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(PVBACKD_BIN): $(call obj,backend/main.c) $(LIBBACKEND) $(LIBOFFLOAD) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) $(BACKEND_LIBS)
$(BUILD)/bin/pvback-%: $(BUILD)/obj/frontend/main_%.o $(LIBFRONTEND) $(LIBOFFLOAD) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) $(FRONTEND_LIBS)

$(DEMO_BIN): $(call obj,$(DEMO_SRC)) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIBTEST) $(LIBFRONTEND) $(LIBBACKEND) $(LIBOFFLOAD) $(LIBSIM) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL) $(BACKEND_LIBS)

# pvback-inspect's renderer, tested on JSON fixtures.
$(BUILD)/tests/unit/test_inspect_text: $(call obj,tools/inspect/inspect_text.c tools/inspect/inspect_rates.c)

$(BUILD)/bench/%: $(BUILD)/obj/tools/bench/%.o $(LIBTEST) $(LIBFRONTEND) $(LIBBACKEND) $(LIBOFFLOAD) $(LIBSIM) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL) $(BACKEND_LIBS)

# Tests find the binaries under test through PVBACK_BUILD.
check: all
	@PVBACK_BUILD=$(abspath $(BUILD)) PVBACK_SRC=$(CURDIR) ./scripts/run-tests.sh $(UNIT_BINS) $(INTEG_BINS)
unit: all
	@PVBACK_BUILD=$(abspath $(BUILD)) PVBACK_SRC=$(CURDIR) ./scripts/run-tests.sh $(UNIT_BINS)
integration: all
	@PVBACK_BUILD=$(abspath $(BUILD)) PVBACK_SRC=$(CURDIR) ./scripts/run-tests.sh $(INTEG_BINS)

# The README's main command: a simulated host carrying real traffic.
demo: all
	@PVBACK_BUILD=$(abspath $(BUILD)) ./scripts/demo.sh

bench: all
	@for b in $(BENCH_BINS); do PVBACK_BUILD=$(abspath $(BUILD)) $$b || exit 1; done

install: $(PROGRAMS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/xenstore-schema \
		$(DESTDIR)$(UNITDIR)
	install -m 0755 $(filter-out $(PVBACKD_BIN),$(PROGRAMS)) $(DESTDIR)$(BINDIR)/
	$(if $(PVBACKD_MAIN),install -m 0755 $(PVBACKD_BIN) $(DESTDIR)$(SBINDIR)/)
	install -m 0644 xenstore-schema/*.schema README.md $(DESTDIR)$(DATADIR)/
	mv $(DESTDIR)$(DATADIR)/*.schema $(DESTDIR)$(DATADIR)/xenstore-schema/
	install -m 0644 tools/modprobe/pvback-kernel-backends.conf $(DESTDIR)$(DATADIR)/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' \
		tools/systemd/pvbackd.service.in > $(DESTDIR)$(UNITDIR)/pvbackd.service
	$(if $(wildcard tools/hotplug/*),install -d $(DESTDIR)$(DATADIR)/scripts && \
		install -m 0755 tools/hotplug/* $(DESTDIR)$(DATADIR)/scripts/)

installcheck: all
	@./scripts/installcheck.sh

format:
	clang-format -i $(wildcard common/*.[ch] tools/*/*.[ch] tests/*/*.[ch] backend/*.[ch] backend/*/*.[ch] frontend/*.[ch] frontend/*/*.[ch])

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Fuzzing of the parsers a guest feeds (libFuzzer + ASan/UBSan, clang).
#   make fuzz [FUZZ_SECONDS=20]   builds build/fuzz/fuzz_* and runs each that long
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_FLAGS    = -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -D_GNU_SOURCE -I. -Icommon -Ibackend -Ifrontend
FUZZ_SRC_xsd   = $(wildcard tools/sim/xsd*.c) common/evloop.c common/log.c common/sim_paths.c
FUZZ_SRC_nb_tx = backend/netback/nb_tx_parse.c backend/netback/nb_tx_gnttab.c
FUZZ_SRC_nb_rx = backend/netback/nb_rx_plan.c
FUZZERS = $(patsubst tests/fuzz/fuzz_%.c,build/fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz
fuzz: $(FUZZERS)
	@./scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)

.SECONDEXPANSION:
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC_$*) $(PKG_LIBS) -lpthread

# Real Xen 4.17 end to end under QEMU TCG (tests/e2e/README.md); not part of check.
.PHONY: e2e
e2e: all
	@./tests/e2e/run.sh
