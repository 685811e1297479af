# sql: schema.sql is the one definition of the tables; tables.sql (the same
# tables for a database of another name) is derived from it by dropping the
# CREATE DATABASE and USE lines, and installed beside it.
SQL_TABLES := $(BUILD)/sql/tables.sql

$(SQL_TABLES): sql/schema.sql
	@mkdir -p $(@D)
	{ echo '-- Lars tables without choosing a database (derived from schema.sql):'; \
	  echo '--   mariadb DBNAME < tables.sql'; \
	  sed -e '1,/^USE /d' $<; } >$@

all: $(SQL_TABLES)
