-- Demo routes for `make demo` and manual testing. Apply after schema.sql:
--   mariadb lars < sql/sample-routes.sql
-- Safe to apply again: existing routes are kept and the version only moves
-- when a route was added. Like larsctl, it changes RouteData, writes a
-- RouteChange row per pair and raises RouteVersion in one transaction, so a
-- running lars-dns picks the routes up at once.

-- Outside the transaction: its shared lock, upgraded by FOR UPDATE, could
-- deadlock against a concurrent larsctl.
INSERT IGNORE INTO RouteVersion (id, version) VALUES (1, 0);

START TRANSACTION;

SELECT version INTO @old FROM RouteVersion WHERE id = 1 FOR UPDATE;
SET @new = GREATEST(UNIX_TIMESTAMP(), @old + 1);

INSERT IGNORE INTO RouteData (modid, cmdid, serverip, serverport) VALUES
    (1, 1, INET_ATON('127.0.0.1'), 9001),
    (1, 1, INET_ATON('127.0.0.1'), 9002),
    (1, 1, INET_ATON('127.0.0.1'), 9003),
    (1, 2, INET_ATON('127.0.0.1'), 9004),
    (1, 2, INET_ATON('127.0.0.1'), 9005),
    (2, 1, INET_ATON('127.0.0.1'), 9006),
    (2, 2, INET_ATON('127.0.0.1'), 9007),
    (2, 2, INET_ATON('192.168.1.177'), 9008);
SET @added = ROW_COUNT();

-- Nothing new (applied before): leave the version alone.
UPDATE RouteVersion SET version = @new WHERE id = 1 AND @added > 0;
INSERT INTO RouteChange (modid, cmdid, version)
    SELECT p.modid, p.cmdid, @new
    FROM (SELECT 1 AS modid, 1 AS cmdid UNION ALL SELECT 1, 2
          UNION ALL SELECT 2, 1 UNION ALL SELECT 2, 2) AS p
    WHERE @added > 0;

COMMIT;
