# sbox — a plain Makefile.  `make`, `make test`, `make install`, `make bench`.
# Variants: `make` builds build/release; the tests use build/asan (ASan+UBSan).

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
VERSION = 0.1.0

CC ?= cc
PKGS = libseccomp libcap libnl-3.0 libnl-route-3.0 inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wformat-nonliteral -Wswitch-default -Wno-unused-parameter
HARDEN = -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DSBOX_VERSION='"$(VERSION)"' -I. $(WARN) $(PKG_CFLAGS)
BASE_LDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

VARIANT ?= release
ifeq ($(VARIANT),asan)
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_LDFLAGS = -fsanitize=address,undefined
else
OPT = -O2 -g $(HARDEN)
SAN_LDFLAGS =
endif
CFLAGS ?=
LDFLAGS ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(OPT) $(CFLAGS)
ALL_LDFLAGS = $(BASE_LDFLAGS) $(SAN_LDFLAGS) $(LDFLAGS)

# B can be overridden so that parallel builds don't share objects.
B ?= build/$(VARIANT)
# Objects mirror the source tree under obj/, away from the programs named
# like their rooms ($(B)/sboxrun, $(B)/sboxd).
O = $(B)/obj

CORE_SRC = $(wildcard common/*.c policy/*.c sandbox/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(O)/%.o)
# The wire protocol (wire/) and the libsbox client (libsbox/), which sboxrun's
# client mode uses; sboxrun's own objects (sboxrun/).
WIRE_OBJ = $(addprefix $(O)/wire/, protocol.o build.o fdpass.o)
CLIENT_OBJ = $(O)/libsbox/client.o $(WIRE_OBJ)
CLI_OBJ = $(addprefix $(O)/sboxrun/, cli.o status.o via_daemon.o gpu_list.o) $(CLIENT_OBJ)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
INTEG_SRC = $(wildcard tests/integration/test_*.c)
INTEG_BIN = $(INTEG_SRC:tests/integration/%.c=$(B)/tests/%)
INTEG_LIB = $(O)/tests/integration/harness.o

.SECONDARY:
.PHONY: all tests test test-unit test-v2 valgrind install uninstall clean deps bench demo
all: $(B)/sboxrun $(B)/sbox-probe
# The daemon side: sboxd, libsbox for its clients, the example node agent.
all: $(B)/sboxd $(B)/libsbox.a $(B)/libsbox.so $(B)/sbox.pc $(B)/node-agent

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The default profiles' system call filters, compiled when sbox is built
# by sandbox/seccomp.c itself (sandbox/seccomp_prebuilt.h says why): the
# generator links the core's objects with an empty table of its own.
PREBUILT_SRC = $(B)/gen/seccomp_prebuilt.c
PREBUILT_OBJ = $(O)/gen/seccomp_prebuilt.o
$(B)/tools/seccomp-prebuild: tools/seccomp_prebuild.c $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(PREBUILT_SRC): $(B)/tools/seccomp-prebuild
	@mkdir -p $(dir $@)
	$< > $@.tmp && mv $@.tmp $@
$(PREBUILT_OBJ): $(PREBUILT_SRC)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(B)/pic/gen/seccomp_prebuilt.o: $(PREBUILT_SRC)
	@mkdir -p $(dir $@)
	@echo "  CC [PIC] $@"
	@$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(B)/libsbox-core.a: $(CORE_OBJ) $(PREBUILT_OBJ)
	ar rcs $@ $^

# sboxrun is started once per launch, mostly as a client of sboxd: it links
# libseccomp, libcap, libnl and inih from their archives (Debian's -dev
# packages ship them) so that ld.so maps and binds glibc only; glibc stays
# shared for NSS (docs/design.md, "A slim sboxrun").  SBOXRUN_LIBS=shared
# links them as shared libraries, as before (e.g. for a distribution that
# wants library security updates to reach sboxrun without a rebuild).
# The check after the link keeps it so: a library added to sboxrun's line
# as a shared one fails the build rather than slow every launch unseen.
SBOXRUN_LIBS ?= static
ifeq ($(SBOXRUN_LIBS),shared)
SBOXRUN_LINK_LIBS = $(PKG_LIBS)
SBOXRUN_CHECK_NEEDED = true
else
SBOXRUN_LINK_LIBS = -Wl,-Bstatic $(PKG_LIBS) -Wl,-Bdynamic
SBOXRUN_CHECK_NEEDED = ! readelf -d $@ | grep -E 'NEEDED.*\[lib(seccomp|cap|nl-|inih)'
endif
$(B)/sboxrun: $(O)/sboxrun/sboxrun.o $(CLI_OBJ) $(B)/libsbox-core.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SBOXRUN_LINK_LIBS)
	@$(SBOXRUN_CHECK_NEEDED) || { echo "$@: needs a shared library that SBOXRUN_LIBS=static links from its archive"; rm -f $@; exit 1; }

# The probe runs inside sandboxes; static so it depends on nothing there.
$(B)/sbox-probe: tests/probe/sbox-probe.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

$(B)/tests/test_%: tests/unit/test_%.c $(B)/libsbox-core.a $(CLI_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CLI_OBJ) $(B)/libsbox-core.a $(PKG_LIBS) $(CMOCKA_LIBS)

# The pool's shape key is sboxd's, and needs nothing else of sboxd.
$(B)/tests/test_shape: tests/unit/test_shape.c $(O)/sboxd/shape.o $(B)/libsbox-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(O)/sboxd/shape.o $(B)/libsbox-core.a $(PKG_LIBS) $(CMOCKA_LIBS)

$(B)/tests/test_%: tests/integration/test_%.c $(INTEG_LIB) $(B)/libsbox-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(INTEG_LIB) $(B)/libsbox-core.a $(PKG_LIBS) $(CMOCKA_LIBS)

tests: all $(UNIT_BIN) $(INTEG_BIN)

# The test command of README.md and .ci/run.  Unit and integration tests run
# against the ASan/UBSan build; integration tests run as root and again as an
# unprivileged user (user namespaces); valgrind checks the release build
# (its unit tests too, so release builds them).  The build runs as the
# caller; the suite runs as root (scripts/as-root: directly when root, else
# through sudo), as README.md's command promises.
test:
	$(MAKE) VARIANT=asan tests
	$(MAKE) VARIANT=release tests
	./scripts/as-root ./tests/run-tests.sh build/asan build/release
	$(MAKE) test-python

# The sbox Python package (python/): pytest with real sandboxes, as root
# (direct and through sboxd) and as nobody.
.PHONY: test-python
test-python:
	$(MAKE) VARIANT=release all
	./scripts/as-root ./python/tests/run.sh build/release

test-unit:
	$(MAKE) VARIANT=asan tests
	./tests/run-tests.sh --unit-only build/asan build/release

# The same suite on a pure cgroup v2 machine: a qemu VM booting Debian's
# kernel over the host's files (tests/v2/run-vm.sh, docs/testing-v2.md).
# Under TCG (no usable KVM) a launch costs ~40x the host's: the v2 VM proves
# the leak check's v2 path with 20 launches; the host's `make test` runs 200.
test-v2:
	$(MAKE) VARIANT=asan tests
	$(MAKE) VARIANT=release all
	SBOX_LEAK_LAUNCHES=$${SBOX_LEAK_LAUNCHES:-20} ./tests/v2/run-vm.sh

# The same suite on the classic mount(2) path that kernels before 5.12 take
# (no open_tree/mount_setattr/openat2): a build that never probes for them
# (docs/design.md, "Filesystem set-up without the new mount API").
.PHONY: test-classic
test-classic:
	$(MAKE) VARIANT=asan B=build/classic CFLAGS=-DSBOX_FORCE_CLASSIC_FS tests
	$(MAKE) VARIANT=release all
	./tests/run-tests.sh --no-valgrind build/classic build/release

valgrind:
	$(MAKE) VARIANT=release tests
	./tests/run-tests.sh --valgrind-only build/asan build/release

deps:
	./scripts/install-deps.sh

demo: all
	./scripts/demo.sh $(B)/sboxrun

# make bench [BENCH_QUICK=1] [BENCH_B=build/x]: docs/benchmarks.md (bench/).
BENCH_B ?= build/release
bench:
	$(MAKE) VARIANT=release B=$(BENCH_B) $(addprefix $(BENCH_B)/,sboxrun sbox-probe sboxd apibench floorbench)
	./bench/run.sh $(BENCH_B)

# make bench-v2: issue 14's ratios inside the test-v2 VM (pure cgroup v2;
# bench/v2.sh); writes docs/benchmarks.md's v2 section.  Not in `make test`.
.PHONY: bench-v2
bench-v2:
	$(MAKE) VARIANT=release B=$(BENCH_B) $(addprefix $(BENCH_B)/,sboxrun sboxd apibench floorbench)
	./bench/v2.sh $(BENCH_B)

# The in-process launch driver of bench/ (the API path, no client process).
APIBENCH_OBJ = $(O)/bench/apibench.o $(O)/bench/apibench_direct.o $(O)/bench/apibench_libsbox.o
$(B)/apibench: $(APIBENCH_OBJ) $(B)/libsbox.a $(B)/libsbox-core.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The kernel's floor for a launch with full isolation and no launcher
# (bench/floor.c): what no launcher can go under on this machine.
$(B)/floorbench: bench/floor.c
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# What a netns costs a launch (docs/network.md); run as root.
$(B)/bench/netns-bench: bench/netns.c $(B)/libsbox-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libsbox-core.a $(PKG_LIBS)

# sboxd, libsbox (static, shared with only sbox_client_* exported so that a
# client links against the protocol and nothing else; pkg-config file), the
# example node agent, the protocol fuzzer.
SBOXD_SRC = $(addprefix sboxd/, loop.c conn.c jobs.c launch.c client_fds.c place.c recovery.c leases.c reply.c state.c closer.c park.c teardown.c base.c pool.c shape.c)
DAEMON_OBJ = $(O)/sboxd/sboxd.o $(SBOXD_SRC:%.c=$(O)/%.o) $(WIRE_OBJ)
$(B)/sboxd: $(DAEMON_OBJ) $(B)/libsbox-core.a
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

# libsbox parses policy text (to open the bind sources as the caller) with the
# same directive table: it carries policy/ and common/, hidden by the
# version script in the shared library.
# The zygote API (libsbox/zygote.c) does what a sandbox's own steps do, in
# the calling process: it carries sandbox/ too, hidden the same way.
LIBSBOX_SRC = libsbox/client.c libsbox/zygote.c wire/protocol.c wire/build.c wire/fdpass.c \
	$(wildcard common/*.c policy/*.c sandbox/*.c)
LIBSBOX_SOVERSION = 0
# policy/ checks capability names with libcap, syscall names with libseccomp.
LIBSBOX_LIBS := $(shell pkg-config --libs libseccomp libcap inih libnl-3.0 libnl-route-3.0 2>/dev/null)
$(B)/libsbox.a: $(LIBSBOX_SRC:%.c=$(O)/%.o) $(PREBUILT_OBJ)
	ar rcs $@ $^
$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC [PIC] $@"
	@$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(B)/libsbox.so: $(LIBSBOX_SRC:%.c=$(B)/pic/%.o) $(B)/pic/gen/seccomp_prebuilt.o libsbox/libsbox.map
	$(CC) -shared -Wl,-soname,libsbox.so.$(LIBSBOX_SOVERSION) -Wl,--version-script=libsbox/libsbox.map \
		-Wl,-z,relro,-z,now $(SAN_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBSBOX_LIBS)
$(B)/sbox.pc: libsbox/sbox.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@
$(B)/node-agent: examples/node-agent.c $(B)/libsbox.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iinclude $(ALL_LDFLAGS) -o $@ $< $(B)/libsbox.a $(LIBSBOX_LIBS)

# The daemon's integration tests start their own sboxd and speak the
# protocol themselves (tests/integration/daemon_harness.c).
DAEMON_TEST_LIB = $(INTEG_LIB) $(O)/tests/integration/daemon_harness.o
$(B)/tests/test_daemon $(B)/tests/test_daemon_abuse $(B)/tests/test_escape_fds $(B)/tests/test_teardown $(B)/tests/test_pool: $(B)/tests/test_%: tests/integration/test_%.c \
		$(DAEMON_TEST_LIB) $(CLI_OBJ) $(B)/libsbox-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(DAEMON_TEST_LIB) $(CLI_OBJ) $(B)/libsbox-core.a \
		$(PKG_LIBS) $(CMOCKA_LIBS)

# The zygote tests: a C template through libsbox's zygote API, direct and
# through their own sboxd.
$(B)/tests/test_zygote: tests/integration/test_zygote.c $(DAEMON_TEST_LIB) $(CLI_OBJ) \
		$(O)/libsbox/zygote.o $(B)/libsbox-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(DAEMON_TEST_LIB) $(CLI_OBJ) $(O)/libsbox/zygote.o \
		$(B)/libsbox-core.a $(PKG_LIBS) $(CMOCKA_LIBS)

# make fuzz [FUZZ_SECONDS=60]: every libFuzzer target tests/fuzz/fuzz_*.c
# (clang), each for FUZZ_SECONDS from its seeds (tests/fuzz/run.sh), then
# their figures; CI runs it bounded.  Each links the parsers (wire protocol,
# policy/, common/); one that needs more names it in FUZZ_SRC_fuzz_NAME.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZERS = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRC = wire/protocol.c wire/build.c wire/fdpass.c $(wildcard common/*.c policy/*.c)
FUZZ_HDR = $(wildcard common/*.h policy/*.h wire/*.h sboxd/*.h)
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC) $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -pthread -o $@ $< $(FUZZ_SRC) $(FUZZ_SRC_fuzz_$*) \
		$(LIBSBOX_LIBS)
# The stateful fuzzer of sboxd's event loop: the daemon's sources with the
# launch layer faked (tests/fuzz/fake_sandbox.c instead of sandbox/).
FUZZ_SRC_fuzz_daemon = $(SBOXD_SRC) tests/fuzz/fake_sandbox.c
$(B)/fuzz/fuzz_daemon: $(FUZZ_SRC_fuzz_daemon) tests/fuzz/fake_sandbox.h
.PHONY: fuzz
fuzz: $(FUZZERS:%=$(B)/fuzz/%)
	./tests/fuzz/run.sh $(B)/fuzz $(FUZZ_SECONDS) $(FUZZERS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(B)/sboxrun $(DESTDIR)$(BINDIR)/sboxrun
	install -m 0644 docs/man/sboxrun.1 $(DESTDIR)$(MANDIR)/man1/sboxrun.1
	$(MAKE) install-daemon

# sboxd, its man page and systemd units, libsbox (header, static and shared
# library, pkg-config file); install runs this target too.
SBINDIR = $(PREFIX)/sbin
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
UNITDIR ?= $(LIBDIR)/systemd/system
.PHONY: install-daemon
install-daemon:
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/sbox $(DESTDIR)$(UNITDIR)
	install -m 0755 $(B)/sboxd $(DESTDIR)$(SBINDIR)/sboxd
	install -m 0644 docs/man/sboxd.8 $(DESTDIR)$(MANDIR)/man8/sboxd.8
	install -m 0644 include/sbox/libsbox.h $(DESTDIR)$(INCLUDEDIR)/sbox/libsbox.h
	install -m 0644 include/sbox/zygote.h $(DESTDIR)$(INCLUDEDIR)/sbox/zygote.h
	install -m 0644 $(B)/libsbox.a $(DESTDIR)$(LIBDIR)/libsbox.a
	install -m 0755 $(B)/libsbox.so $(DESTDIR)$(LIBDIR)/libsbox.so.$(LIBSBOX_SOVERSION)
	ln -sf libsbox.so.$(LIBSBOX_SOVERSION) $(DESTDIR)$(LIBDIR)/libsbox.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' libsbox/sbox.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/sbox.pc
	sed 's|/usr/local/sbin/sboxd|$(SBINDIR)/sboxd|' systemd/sboxd.service \
		> $(DESTDIR)$(UNITDIR)/sboxd.service
	install -m 0644 systemd/sboxd.socket $(DESTDIR)$(UNITDIR)/sboxd.socket

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sboxrun $(DESTDIR)$(MANDIR)/man1/sboxrun.1
	rm -f $(DESTDIR)$(SBINDIR)/sboxd $(DESTDIR)$(MANDIR)/man8/sboxd.8 \
		$(DESTDIR)$(INCLUDEDIR)/sbox/libsbox.h $(DESTDIR)$(INCLUDEDIR)/sbox/zygote.h \
		$(DESTDIR)$(LIBDIR)/libsbox.a \
		$(DESTDIR)$(LIBDIR)/libsbox.so $(DESTDIR)$(LIBDIR)/libsbox.so.$(LIBSBOX_SOVERSION) \
		$(DESTDIR)$(LIBDIR)/pkgconfig/sbox.pc $(DESTDIR)$(UNITDIR)/sboxd.service \
		$(DESTDIR)$(UNITDIR)/sboxd.socket

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)

# The SPANK plugin (slurm/, docs/slurm.md), against Debian's
# libslurm-dev; `make test-slurm` runs it on a real one-node cluster here
# (munged, slurmctld, slurmd: scripts/install-deps.sh --slurm)
.PHONY: slurm test-slurm bench-slurm
slurm: $(B)/spank_sbox.so
SLURM_SRC = slurm/spank_sbox.c slurm/relay.c slurm/gpus.c slurm/gres_conf.c slurm/cgroups.c slurm/wire.c slurm/util.c
$(B)/spank_sbox.so: $(SLURM_SRC) slurm/sbox_slurm.h
	@mkdir -p $(dir $@)
	@printf '#include <stdint.h>\n#include <slurm/spank.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 || \
		{ echo "make slurm: <slurm/spank.h> not found: install libslurm-dev (scripts/install-deps.sh --slurm)"; exit 1; }
	$(CC) -std=gnu11 -D_GNU_SOURCE -I. $(WARN) $(OPT) -fPIC -shared $(CFLAGS) -o $@ $(SLURM_SRC) $(LDFLAGS)

# The plugin next to sboxrun's default path; plugstack.conf names it.
SLURM_PLUGINDIR ?= $(LIBDIR)/sbox
.PHONY: install-slurm
install-slurm: slurm
	install -d $(DESTDIR)$(SLURM_PLUGINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(B)/spank_sbox.so $(DESTDIR)$(SLURM_PLUGINDIR)/spank_sbox.so
	install -m 0644 docs/man/spank_sbox.8 $(DESTDIR)$(MANDIR)/man8/spank_sbox.8

test-slurm:
	$(MAKE) VARIANT=release all slurm
	./scripts/as-root ./tests/slurm/run.sh build/release

bench-slurm:
	$(MAKE) VARIANT=release all slurm
	./scripts/as-root ./bench/slurm.sh build/release
