# units: systemd units. *.service.in get @bindir@ substituted with the
# directory the daemons are installed in, $(UNITS_BINDIR): $(SBINDIR) by
# default. `make install` writes its own copies (packaging/module.mk); the
# ones in $(BUILD)/units are for inspection and `systemd-analyze verify`.
SBINDIR ?= $(PREFIX)/sbin
UNITS_BINDIR ?= $(SBINDIR)
UNIT_SRCS := $(wildcard units/*.socket units/*.service.in)
UNITS := $(patsubst units/%.in,$(BUILD)/units/%,$(filter %.in,$(UNIT_SRCS))) \
         $(patsubst units/%,$(BUILD)/units/%,$(filter-out %.in,$(UNIT_SRCS)))

$(BUILD)/units/%: units/%.in
	@mkdir -p $(@D)
	sed 's|@bindir@|$(UNITS_BINDIR)|g' $< > $@

$(BUILD)/units/%: units/%
	@mkdir -p $(@D)
	cp $< $@
