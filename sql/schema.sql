-- Lars database schema: creates database `lars` and its tables.
--   mariadb < sql/schema.sql
-- Idempotent: safe to apply again to an existing installation. For another
-- database name, create it yourself and apply tables.sql, which `make` derives
-- from this file without the two lines below (installed next to it):
--            mariadb -e 'CREATE DATABASE IF NOT EXISTS other'
--            mariadb other < /usr/share/lars/sql/tables.sql

CREATE DATABASE IF NOT EXISTS lars CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE lars;

-- One row per (pair, node): the routes lars-dns serves.
CREATE TABLE IF NOT EXISTS RouteData (
    id         INT UNSIGNED NOT NULL AUTO_INCREMENT,
    modid      INT UNSIGNED NOT NULL,
    cmdid      INT UNSIGNED NOT NULL,
    serverip   INT UNSIGNED NOT NULL,
    serverport INT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uk_route (modid, cmdid, serverip, serverport),
    KEY idx_pair (modid, cmdid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A single row (id 1) whose version grows with every route change; lars-dns
-- polls it and reloads RouteData when it moved.
CREATE TABLE IF NOT EXISTS RouteVersion (
    id      INT NOT NULL,
    version INT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO RouteVersion (id, version) VALUES (1, 0);

-- One row per changed pair and change, tagged with the RouteVersion the change
-- produced; pruned by version (lars-dns change_retention_s).
CREATE TABLE IF NOT EXISTS RouteChange (
    id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    modid   INT UNSIGNED NOT NULL,
    cmdid   INT UNSIGNED NOT NULL,
    version BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    KEY idx_version (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Call statistics per node and calling host, upserted by lars-reporter.
-- overload: '1' overloaded, '0' idle. ts: unix time of the agent's report.
CREATE TABLE IF NOT EXISTS ServerCallStatus (
    modid    INT UNSIGNED NOT NULL,
    cmdid    INT UNSIGNED NOT NULL,
    ip       INT UNSIGNED NOT NULL,
    port     INT UNSIGNED NOT NULL,
    caller   INT UNSIGNED NOT NULL,
    succ_cnt INT UNSIGNED NOT NULL DEFAULT 0,
    err_cnt  INT UNSIGNED NOT NULL DEFAULT 0,
    ts       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    overload CHAR(1) NOT NULL DEFAULT '0',
    PRIMARY KEY (modid, cmdid, ip, port, caller)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
