# Lars top-level build. Each component describes itself in its module.mk;
# this file holds the toolchain, the generic rules and the user-facing targets.
#
#   make              build everything into build/ (programs in build/bin)
#   make check        install missing Debian packages, build, run all tests
#   make check-unit | check-integration | check-system   the same, one tier
#   make SANITIZE=1 check   the same under ASan+UBSan (objects in build/sanitize)
#   make bench        run every benchmark

CC      ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD   ?= build/sanitize
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   ?= build
SANFLAGS =
endif

PKGS     = libsystemd libmariadb libconfig
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# protobuf-c: only the reference that tests and fuzz targets check the wire
# codec (proto/wire.c) against; nothing installed links it.
PBC_CFLAGS = $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
PBC_LIBS   = $(shell pkg-config --libs libprotobuf-c 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

OPT     ?= -O2 -g
WERROR  ?= -Werror
CFLAGS  += -std=gnu11 $(OPT) -Wall -Wextra $(WERROR) -Wshadow -Wno-unused-parameter \
           -fPIC -pthread -D_GNU_SOURCE $(SANFLAGS)
CPPFLAGS += -I. -I$(BUILD)/gen $(PKG_CFLAGS) $(PBC_CFLAGS) -MMD -MP
LDFLAGS += -pthread $(SANFLAGS)

# Install locations (make install DESTDIR=... PREFIX=...).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc

BIN  = $(BUILD)/bin
LIB  = $(BUILD)/lib
OBJ  = $(BUILD)/obj
GEN  = $(BUILD)/gen

# Filled by the module.mk files.
PROGRAMS :=
TEST_PROGS :=
TEST_HELPERS :=
TEST_ARCHIVES :=
GEN_HEADERS :=

.PHONY: all check check-build check-unit check-integration check-system test deps clean bench \
	fuzz demo install format
all:

# Rules in module.mk files may name $$(TEST_ARCHIVES) as prerequisites: the
# list is complete only once every module.mk has been read.
.SECONDEXPANSION:
# Keep objects of pattern rules (tests, programs) so rebuilds stay incremental.
.SECONDARY:

include proto/module.mk
include libreactor/module.mk
include daemons/common/module.mk
include api/module.mk
include $(filter-out daemons/common/module.mk,$(wildcard daemons/*/module.mk))
include $(wildcard tools/*/module.mk bench/module.mk units/module.mk sql/module.mk)
include $(wildcard packaging/module.mk)
include $(wildcard fuzz/module.mk)
include $(wildcard demo/module.mk)
include harness/module.mk
include tests/module.mk

all: $(PROGRAMS)

$(OBJ)/%.o: %.c | $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Every test links every archive; the linker takes only what a test uses.
# TEST_PROGS: $(BUILD)/tests/TIER/test_* (tests/module.mk).
$(TEST_PROGS): $(BUILD)/tests/%: $(OBJ)/tests/%.o $(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) $(PBC_LIBS) $(CMOCKA_LIBS) -lm

check-build: all $(TEST_PROGS) $(TEST_HELPERS)

# The README's test command: install what is missing, build, run every test.
check:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory check-build
	@BUILD=$(BUILD) tests/run-tests.sh

# One tier: its tests and the programs and helpers they start.
check-unit check-integration check-system: check-%:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory all $(TEST_PROGS_$*) $(TEST_HELPERS)
	@BUILD=$(BUILD) tests/run-tests.sh --tier $*

test: check-build
	@BUILD=$(BUILD) tests/run-tests.sh

deps:
	@scripts/install-deps.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
