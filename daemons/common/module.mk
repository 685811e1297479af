# daemons/common: plumbing shared by the daemons and larsctl: config
# (libconfig), logging (journald/stderr), systemd glue, MariaDB connection.
COMMON_SRCS := $(wildcard daemons/common/*.c)
COMMON_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(COMMON_SRCS))

$(LIB)/liblarscommon.a: $(COMMON_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

TEST_ARCHIVES += $(LIB)/liblarscommon.a
