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

CORE_SRC = $(wildcard common/*.c policy/*.c sandbox/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(B)/%.o)
CLI_OBJ = $(B)/launcher/cli.o
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
INTEG_SRC = $(wildcard tests/integration/test_*.c)
INTEG_BIN = $(INTEG_SRC:tests/integration/%.c=$(B)/tests/%)
INTEG_LIB = $(B)/tests/integration/harness.o

.SECONDARY:
.PHONY: all release asan tests test test-unit test-integration valgrind install \
	uninstall clean deps bench demo
all: $(B)/sboxrun $(B)/sbox-probe

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/libsbox-core.a: $(CORE_OBJ)
	ar rcs $@ $^

$(B)/sboxrun: $(B)/launcher/sboxrun.o $(CLI_OBJ) $(B)/libsbox-core.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The probe runs inside sandboxes; static so it depends on nothing there.
$(B)/sbox-probe: tests/probe/sbox-probe.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

$(B)/tests/test_%: tests/unit/test_%.c $(B)/libsbox-core.a $(CLI_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CLI_OBJ) $(B)/libsbox-core.a $(PKG_LIBS) $(CMOCKA_LIBS)

$(B)/tests/test_%: tests/integration/test_%.c $(INTEG_LIB) $(B)/libsbox-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(INTEG_LIB) $(B)/libsbox-core.a $(PKG_LIBS) $(CMOCKA_LIBS)

tests: all $(UNIT_BIN) $(INTEG_BIN)

# The test command of README.md and .ci/run.  Unit and integration tests run
# against the ASan/UBSan build; integration tests run as root and again as an
# unprivileged user (user namespaces); valgrind checks the release build.
test:
	$(MAKE) VARIANT=asan tests
	$(MAKE) VARIANT=release all
	./tests/run-tests.sh build/asan build/release

test-unit:
	$(MAKE) VARIANT=asan tests
	./tests/run-tests.sh --unit-only build/asan build/release

valgrind:
	$(MAKE) VARIANT=release tests
	./tests/run-valgrind.sh build/release

deps:
	./scripts/install-deps.sh

demo: all
	./scripts/demo.sh $(B)/sboxrun

bench:
	$(MAKE) VARIANT=release all
	./bench/run.sh build/release

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(B)/sboxrun $(DESTDIR)$(BINDIR)/sboxrun
	install -m 0644 docs/man/sboxrun.1 $(DESTDIR)$(MANDIR)/man1/sboxrun.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sboxrun $(DESTDIR)$(MANDIR)/man1/sboxrun.1

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
