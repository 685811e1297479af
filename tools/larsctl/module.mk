# tools/larsctl: the admin tool for routes and call status in MariaDB.
LARSCTL_SRCS := $(wildcard tools/larsctl/*.c)
LARSCTL_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LARSCTL_SRCS))

$(BIN)/larsctl: $(LARSCTL_OBJS) $(LIB)/liblarscommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(LARSCTL_OBJS) $(LIB)/liblarscommon.a $(PKG_LIBS)

PROGRAMS += $(BIN)/larsctl
