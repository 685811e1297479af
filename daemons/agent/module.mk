# daemons/agent: lars-agent. libagent.a holds everything but main.c (the
# balancer, the route cache, ...) so that tests link the real code; the
# program is built once daemons/agent/main.c exists.
AGENT_SRCS := $(filter-out daemons/agent/main.c,$(wildcard daemons/agent/*.c))
AGENT_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(AGENT_SRCS))

$(LIB)/libagent.a: $(AGENT_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

TEST_ARCHIVES := $(LIB)/libagent.a $(TEST_ARCHIVES)

ifneq ($(wildcard daemons/agent/main.c),)
$(BIN)/lars-agent: $(OBJ)/daemons/agent/main.o $(LIB)/libagent.a $(LIB)/liblarscommon.a \
		$(LIB)/libreactor.a $(LIB)/liblarswire.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(PKG_LIBS) -lm

PROGRAMS += $(BIN)/lars-agent
endif
