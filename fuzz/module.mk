# fuzz: one libFuzzer target per parser (see fuzz/fuzz.h). The targets are
# plain functions collected in libfuzztargets.a, which every test links like
# any archive (tests/unit/test_fuzz_regressions.c replays seeds and saved crash
# inputs in the normal build). `make fuzz` builds them again with clang,
# libFuzzer, ASan and UBSan in build/fuzz and runs each target for
# FUZZ_SECONDS (default 30); new crashes land in build/fuzz/crashes/<target>/.
FUZZ_SRCS := $(filter-out fuzz/entry.c fuzz/gen_corpus.c,$(wildcard fuzz/*.c))
FUZZ_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(FUZZ_SRCS))
FUZZ_NAMES := frame wire agent conf liblars
FUZZ_SECONDS ?= 30
FUZZ_DIR := build/fuzz
FUZZ_SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=undefined

$(LIB)/libfuzztargets.a: $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

TEST_ARCHIVES := $(LIB)/libfuzztargets.a $(TEST_ARCHIVES)

FUZZ_PROGS := $(patsubst %,$(BUILD)/fuzz-bin/fuzz_%,$(FUZZ_NAMES))
FUZZ_ARCHIVES := $(addprefix $(LIB)/,libfuzztargets.a libagent.a libdns.a libreporter.a \
                   liblarscommon.a libreactor.a liblars.a liblarswire.a liblarspbc.a)
.PRECIOUS: $(OBJ)/fuzz/entry_%.o

$(OBJ)/fuzz/entry_%.o: fuzz/entry.c | $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_TARGET=fuzz_$* -c -o $@ $<

$(BUILD)/fuzz-bin/fuzz_%: $(OBJ)/fuzz/entry_%.o $(FUZZ_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< -Wl,--start-group $(FUZZ_ARCHIVES) \
		-Wl,--end-group $(PKG_LIBS) $(PBC_LIBS) -lm

$(BUILD)/fuzz-bin/gen_corpus: $(OBJ)/fuzz/gen_corpus.o $(FUZZ_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(FUZZ_ARCHIVES) -Wl,--end-group $(PKG_LIBS) $(PBC_LIBS) -lm

.PHONY: fuzz-build
fuzz-build: $(FUZZ_PROGS) $(BUILD)/fuzz-bin/gen_corpus

fuzz:
	@scripts/install-deps.sh fuzz
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR) CC=clang SANITIZE= \
		SANFLAGS='$(FUZZ_SANFLAGS)' fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run-fuzz.sh $(FUZZ_DIR) $(FUZZ_NAMES)
