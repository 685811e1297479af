# api: liblars, the C client library (static and shared, one header lars.h).
# Both libraries carry the wire codec (proto/wire.c), so an application links
# liblars and libc only. The shared library exports the lars_* calls listed
# in liblars.map and nothing else.
LIBLARS_SRCS := $(wildcard api/*.c)
LIBLARS_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LIBLARS_SRCS))
LIBLARS_ALL_OBJS := $(LIBLARS_OBJS) $(OBJ)/proto/wire.o

LIBLARS_VERSION := 0.1.0
LIBLARS_SONAME  := liblars.so.0
LIBLARS_SO      := $(LIB)/liblars.so.$(LIBLARS_VERSION)

$(LIBLARS_OBJS): CFLAGS += -fvisibility=hidden

$(LIB)/liblars.a: $(LIBLARS_ALL_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# clang's ASan runtime is static and not linked into shared objects, so its
# symbols are legitimately undefined there; check undefined symbols otherwise.
LIBLARS_NO_UNDEFINED := $(if $(filter 1,$(SANITIZE)),,-Wl,--no-undefined)

$(LIBLARS_SO): $(LIBLARS_ALL_OBJS) api/liblars.map
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(LIBLARS_SONAME) \
		-Wl,--version-script=api/liblars.map $(LIBLARS_NO_UNDEFINED) \
		-o $@ $(LIBLARS_ALL_OBJS)

$(LIB)/$(LIBLARS_SONAME): $(LIBLARS_SO)
	ln -sf $(notdir $<) $@

$(LIB)/liblars.so: $(LIB)/$(LIBLARS_SONAME)
	ln -sf $(notdir $<) $@

# The .pc file embeds PREFIX/LIBDIR/INCLUDEDIR: regenerate it when they change.
LIBLARS_PC_VARS = $(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(LIBLARS_VERSION)
$(LIB)/pkgconfig/lars.pc.vars: liblars-force
	@mkdir -p $(@D)
	@echo '$(LIBLARS_PC_VARS)' | cmp -s - $@ || echo '$(LIBLARS_PC_VARS)' >$@

$(LIB)/pkgconfig/lars.pc: api/lars.pc.in $(LIB)/pkgconfig/lars.pc.vars
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(LIBLARS_VERSION)|g' $< >$@

.PHONY: liblars-force
liblars-force:

LIBLARS_OUTPUTS := $(LIB)/liblars.a $(LIBLARS_SO) $(LIB)/$(LIBLARS_SONAME) $(LIB)/liblars.so \
                   $(LIB)/pkgconfig/lars.pc
PROGRAMS += $(LIBLARS_OUTPUTS)
TEST_ARCHIVES += $(LIB)/liblars.a

.PHONY: install-liblars
install: install-liblars
install-liblars: $(LIBLARS_OUTPUTS)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 api/lars.h $(DESTDIR)$(INCLUDEDIR)/lars.h
	install -m 644 $(LIB)/liblars.a $(DESTDIR)$(LIBDIR)/liblars.a
	install -m 755 $(LIBLARS_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf liblars.so.$(LIBLARS_VERSION) $(DESTDIR)$(LIBDIR)/$(LIBLARS_SONAME)
	ln -sf $(LIBLARS_SONAME) $(DESTDIR)$(LIBDIR)/liblars.so
	install -m 644 $(LIB)/pkgconfig/lars.pc $(DESTDIR)$(LIBDIR)/pkgconfig/lars.pc
