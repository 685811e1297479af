# proto: the Lars wire protocol. proto/wire.c is the codec (libc only) that
# the daemons, the tools and the benchmarks link as liblarswire.a and that
# liblars carries inside. proto/lars.proto describes the same messages for
# protoc-c: the generated protobuf-c code (liblarspbc.a, linked with
# libprotobuf-c) is only the reference the tests and fuzz targets check the
# codec against.
$(LIB)/liblarswire.a: $(OBJ)/proto/wire.o
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

TEST_ARCHIVES += $(LIB)/liblarswire.a

$(GEN)/proto/lars.pb-c.c $(GEN)/proto/lars.pb-c.h: proto/lars.proto
	@mkdir -p $(GEN)/proto
	protoc-c --c_out=$(GEN) proto/lars.proto

GEN_HEADERS += $(GEN)/proto/lars.pb-c.h

$(OBJ)/gen/proto/lars.pb-c.o: $(GEN)/proto/lars.pb-c.c $(GEN)/proto/lars.pb-c.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-shadow -c -o $@ $<

$(LIB)/liblarspbc.a: $(OBJ)/gen/proto/lars.pb-c.o
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

TEST_ARCHIVES += $(LIB)/liblarspbc.a
