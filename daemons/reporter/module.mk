# daemons/reporter: lars-reporter, which collects call statistics from agents
# into MariaDB. Everything but main.c also goes into libreporter.a, which the
# tests link.
REPORTER_SRCS := $(filter-out daemons/reporter/main.c,$(wildcard daemons/reporter/*.c))
REPORTER_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(REPORTER_SRCS))

$(LIB)/libreporter.a: $(REPORTER_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN)/lars-reporter: $(OBJ)/daemons/reporter/main.o $(LIB)/libreporter.a $(LIB)/liblarscommon.a \
		$(LIB)/libreactor.a $(LIB)/liblarswire.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

TEST_ARCHIVES += $(LIB)/libreporter.a
PROGRAMS += $(BIN)/lars-reporter
