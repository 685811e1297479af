-- The `lars` account the daemons and larsctl use. Edit the password first
-- (or run the statements by hand), then, as the MariaDB root user:
--   mariadb < sql/users.sql
-- Put the same password in /etc/lars/*.conf (db.password_file) or, with
-- systemd, in the credential `db-password` (LoadCredential=db-password:FILE).
--
-- Privileges: lars-dns reads RouteData/RouteVersion and prunes RouteChange;
-- lars-reporter upserts ServerCallStatus; larsctl changes routes. One account
-- with DML rights on the lars database covers all three; split it per daemon
-- if you want (SELECT + DELETE for lars-dns, INSERT + UPDATE on
-- ServerCallStatus for lars-reporter).

CREATE USER IF NOT EXISTS 'lars'@'localhost' IDENTIFIED BY 'change-me';
CREATE USER IF NOT EXISTS 'lars'@'127.0.0.1' IDENTIFIED BY 'change-me';
GRANT SELECT, INSERT, UPDATE, DELETE ON lars.* TO 'lars'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON lars.* TO 'lars'@'127.0.0.1';
