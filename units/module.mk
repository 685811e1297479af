# units: systemd units. *.service.in get @bindir@ substituted; the copies in
# $(BUILD)/units point at $(UNITS_BINDIR) (the install prefix by default).
UNITS_BINDIR ?= $(BINDIR)
UNIT_SRCS := $(wildcard units/*.socket units/*.service.in)
UNITS := $(patsubst units/%.in,$(BUILD)/units/%,$(filter %.in,$(UNIT_SRCS))) \
         $(patsubst units/%,$(BUILD)/units/%,$(filter-out %.in,$(UNIT_SRCS)))

$(BUILD)/units/%: units/%.in
	@mkdir -p $(@D)
	sed 's|@bindir@|$(UNITS_BINDIR)|g' $< > $@

$(BUILD)/units/%: units/%
	@mkdir -p $(@D)
	cp $< $@
