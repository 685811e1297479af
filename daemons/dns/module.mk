# daemons/dns: lars-dns, the route service. libdns.a holds everything but
# main.c so that tests link the real route table, subscriptions and server.
DNS_SRCS := $(filter-out daemons/dns/main.c,$(wildcard daemons/dns/*.c))
DNS_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(DNS_SRCS))

$(LIB)/libdns.a: $(DNS_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

TEST_ARCHIVES := $(LIB)/libdns.a $(TEST_ARCHIVES)

ifneq ($(wildcard daemons/dns/main.c),)
$(BIN)/lars-dns: $(OBJ)/daemons/dns/main.o $(LIB)/libdns.a $(LIB)/liblarscommon.a \
		$(LIB)/libreactor.a $(LIB)/liblarswire.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

PROGRAMS += $(BIN)/lars-dns
endif
