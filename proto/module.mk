# proto: lars.proto compiled with protoc-c at build time into $(GEN).
$(GEN)/proto/lars.pb-c.c $(GEN)/proto/lars.pb-c.h: proto/lars.proto
	@mkdir -p $(GEN)/proto
	protoc-c --c_out=$(GEN) proto/lars.proto

GEN_HEADERS += $(GEN)/proto/lars.pb-c.h

$(OBJ)/gen/proto/lars.pb-c.o: $(GEN)/proto/lars.pb-c.c $(GEN)/proto/lars.pb-c.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-shadow -c -o $@ $<

$(LIB)/liblarsproto.a: $(OBJ)/gen/proto/lars.pb-c.o
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

TEST_ARCHIVES += $(LIB)/liblarsproto.a
