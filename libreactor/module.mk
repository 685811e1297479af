# libreactor: the epoll reactor (knows nothing of Lars, MariaDB or systemd).
REACTOR_SRCS := $(wildcard libreactor/*.c)
REACTOR_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(REACTOR_SRCS))

$(LIB)/libreactor.a: $(REACTOR_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

TEST_ARCHIVES += $(LIB)/libreactor.a
