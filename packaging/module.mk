# packaging: `make install` (DESTDIR, PREFIX and the directories of the top
# Makefile) and the .deb/.rpm packages built from it.
#
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#   make deb        .debs into $(BUILD)/packages (dpkg-buildpackage, packaging/debian);
#                   check them with `lintian $(BUILD)/packages/lars_*.changes`
#   make rpm        .rpms into $(BUILD)/packages (rpmbuild, packaging/rpm/lars.spec)
#
# Daemons go to $(SBINDIR) (units/module.mk), tools to $(BINDIR). The DB
# password file /etc/lars/db-password is not installed here: the packages
# create it (see docs/operations.md).
LARS_VERSION   ?= $(LIBLARS_VERSION)
MANDIR         ?= $(DATADIR)/man
DOCDIR         ?= $(DATADIR)/doc/lars
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
LARS_DAEMONS   := lars-dns lars-reporter lars-agent
LARS_TOOLS     := lars larsctl
PACKAGES_DIR   := $(BUILD)/packages
HELP2MAN       ?= help2man

# A daemon whose main.c has not landed has no rule; say so instead of make's
# "No rule to make target".
$(foreach d,$(LARS_DAEMONS) $(LARS_TOOLS),$(if $(filter $(BIN)/$(d),$(PROGRAMS)),,\
  $(eval $(BIN)/$(d): ; @echo "packaging: $(d) is not built (no rule: its main.c is missing)" >&2; exit 1)))

# Man pages from --help (help2man); the [SEE ALSO]/[FILES] text is in packaging/man.
MAN_DESC_lars-dns      := Lars route service
MAN_DESC_lars-reporter := Lars call-statistics collector
MAN_DESC_lars-agent    := Lars per-host agent
MAN_DESC_lars          := Lars client tool
MAN_DESC_larsctl       := Lars route and call-status administration
LARS_MAN8 := $(patsubst %,$(BUILD)/man/%.8,$(LARS_DAEMONS))
LARS_MAN1 := $(patsubst %,$(BUILD)/man/%.1,$(LARS_TOOLS))

$(BUILD)/man/%.8: $(BIN)/% packaging/man/daemon.h2m
	@mkdir -p $(@D)
	$(HELP2MAN) -N -s 8 --version-string=$(LARS_VERSION) --include=packaging/man/daemon.h2m \
		-n "$(MAN_DESC_$*)" -o $@ $<

$(BUILD)/man/%.1: $(BIN)/% packaging/man/tool.h2m
	@mkdir -p $(@D)
	$(HELP2MAN) -N -s 1 --version-string=$(LARS_VERSION) --include=packaging/man/tool.h2m \
		-n "$(MAN_DESC_$*)" -o $@ $<

.PHONY: install-programs install-units install-conf install-sql install-man install-examples \
        deb rpm packages
install: install-liblars install-programs install-units install-conf install-sql install-man \
         install-examples

install-programs: $(LARS_DAEMONS:%=$(BIN)/%) $(LARS_TOOLS:%=$(BIN)/%)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 755 $(LARS_DAEMONS:%=$(BIN)/%) $(DESTDIR)$(SBINDIR)/
	install -m 755 $(LARS_TOOLS:%=$(BIN)/%) $(DESTDIR)$(BINDIR)/

# Written here rather than copied from $(BUILD)/units, which may carry an
# earlier PREFIX.
install-units:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 644 units/*.socket $(DESTDIR)$(SYSTEMDUNITDIR)/
	for f in units/*.service.in; do \
		sed 's|@bindir@|$(UNITS_BINDIR)|g' $$f >$(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$f .in) && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$f .in) || exit 1; \
	done

install-conf:
	install -d $(DESTDIR)$(SYSCONFDIR)/lars
	install -m 644 $(wildcard conf/*.conf) $(DESTDIR)$(SYSCONFDIR)/lars/

install-sql: $(SQL_TABLES)
	install -d $(DESTDIR)$(DATADIR)/lars/sql
	install -m 644 sql/*.sql $(SQL_TABLES) sql/README.md $(DESTDIR)$(DATADIR)/lars/sql/

# Example drop-ins (IPAddressAllow=/IPAddressDeny=), documentation only: an
# operator copies one to /etc/systemd/system/UNIT.d/ and edits it.
install-examples:
	for d in units/examples/*.d; do \
		install -d $(DESTDIR)$(DOCDIR)/examples/$$(basename $$d) && \
		install -m 644 $$d/*.conf $(DESTDIR)$(DOCDIR)/examples/$$(basename $$d)/ || exit 1; \
	done

install-man: $(LARS_MAN8) $(LARS_MAN1)
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(LARS_MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(LARS_MAN1) $(DESTDIR)$(MANDIR)/man1/

# Packages are built from a copy of the source tree (no build/, no .git), so
# that they never pick up objects built with other flags.
PKG_WORK := $(abspath $(BUILD))/pkg-work
PKG_SRC  := $(PKG_WORK)/lars-$(LARS_VERSION)

# Our own command line (SANITIZE=1, CC=clang, BUILD=...) must not reach the
# package's make through MAKEFLAGS.
PKG_ENV := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u CFLAGS -u LDFLAGS \
           -u CPPFLAGS -u CC -u SANITIZE -u BUILD -u OPT -u WERROR -u PREFIX -u DESTDIR

$(PKG_SRC).tar.gz: pkg-force
	rm -rf $(PKG_WORK) && mkdir -p $(PKG_SRC)
	tar -c --exclude=./build --exclude=./.git --exclude='./debian' . | tar -x -C $(PKG_SRC)
	tar -C $(PKG_WORK) -czf $@ lars-$(LARS_VERSION)

.PHONY: pkg-force
pkg-force:

deb: $(PKG_SRC).tar.gz
	cp -r packaging/debian $(PKG_SRC)/debian
	cd $(PKG_SRC) && $(PKG_ENV) dpkg-buildpackage -us -uc -b >$(PKG_WORK)/deb-build.log 2>&1 || \
		{ tail -n 40 $(PKG_WORK)/deb-build.log; echo "make deb: failed, log in $(PKG_WORK)/deb-build.log" >&2; exit 1; }
	mkdir -p $(PACKAGES_DIR)
	mv $(PKG_WORK)/*.deb $(PKG_WORK)/*.changes $(PKG_WORK)/*.buildinfo $(PACKAGES_DIR)/
	@ls -1 $(PACKAGES_DIR)/*.deb

# Debian's rpm has no systemd macros: load them (and a fix) when missing.
RPM_SYSTEMD_MACROS = $(if $(shell rpm --eval '%{?systemd_post:1}' 2>/dev/null),,--load=packaging/rpm/macros.fallback)

rpm: $(PKG_SRC).tar.gz
	mkdir -p $(PKG_WORK)/rpm/SOURCES
	cp $(PKG_SRC).tar.gz $(PKG_WORK)/rpm/SOURCES/
	$(PKG_ENV) rpmbuild $(RPM_SYSTEMD_MACROS) --define '_topdir $(PKG_WORK)/rpm' --define 'lars_version $(LARS_VERSION)' \
		--nodeps -bb packaging/rpm/lars.spec >$(PKG_WORK)/rpm-build.log 2>&1 || \
		{ tail -n 40 $(PKG_WORK)/rpm-build.log; echo "make rpm: failed, log in $(PKG_WORK)/rpm-build.log" >&2; exit 1; }
	mkdir -p $(PACKAGES_DIR)
	mv $(PKG_WORK)/rpm/RPMS/*/*.rpm $(PACKAGES_DIR)/
	@ls -1 $(PACKAGES_DIR)/*.rpm

packages: deb rpm
