# tools/lars: the client-side `lars` tool. Linked statically against liblars
# so that build/bin/lars runs from the build tree without LD_LIBRARY_PATH.
LARS_TOOL_SRCS := $(wildcard tools/lars/*.c)
LARS_TOOL_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LARS_TOOL_SRCS))

$(BIN)/lars: $(LARS_TOOL_OBJS) $(LIB)/liblars.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(LARS_TOOL_OBJS) $(LIB)/liblars.a

PROGRAMS += $(BIN)/lars
