-- builds, indexes and queries a table of 300000 rows: joins, a window, a
-- sort of the whole table, JSON, updates, deletes and a VACUUM (about 4 s)
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
SELECT sum(x) FROM (SELECT sum(length(name)) OVER (PARTITION BY grp ORDER BY id ROWS BETWEEN 50 PRECEDING AND CURRENT ROW) AS x FROM t);
SELECT id, name FROM t ORDER BY payload DESC, name LIMIT 3 OFFSET 100000;
SELECT count(*), sum(json_extract(j, '$.a')), max(length(j)) FROM (SELECT json_object('a', id, 'b', name, 'c', json_array(grp, length(payload))) AS j FROM t);
VACUUM;
SELECT count(*), sum(grp) FROM t;
