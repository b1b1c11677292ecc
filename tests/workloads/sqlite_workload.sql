-- builds, indexes and queries a table of 300000 rows
PRAGMA lookaside = 0;
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, payload BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO t SELECT i, 'name-' || (i * 7919 % 300007), i % 97, substr(hex(zeroblob(100)), 1, i % 200) FROM n;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, id);
SELECT count(*), sum(length(payload)) FROM t;
SELECT grp, count(*), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 10;
SELECT name FROM t WHERE name LIKE 'name-1234%' ORDER BY name LIMIT 5;
SELECT count(*) FROM t a JOIN t b ON a.id = b.grp * 1000 WHERE a.grp < 10;
UPDATE t SET name = upper(name) WHERE grp = 3;
DELETE FROM t WHERE grp > 90;
SELECT count(*), count(DISTINCT name) FROM t;
