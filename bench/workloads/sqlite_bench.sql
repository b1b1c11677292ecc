-- The sqlite3 workload of make bench (run as "sqlite3 -lookaside 0 0
-- :memory:", so that sqlite's own lookaside allocator does not hide the
-- allocator under test): builds, indexes and queries @rows rows (300,000 in
-- make bench; set with -cmd '.parameter set @rows N').
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, body TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @rows)
INSERT INTO t(k, name, body) SELECT (i * 7919) % 100003, 'name' || i, printf('%.*c', 20 + i % 200, 'x') FROM n;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(length(body)) FROM t WHERE k BETWEEN 1000 AND 60000;
SELECT k, count(*) FROM t GROUP BY k ORDER BY count(*) DESC, k LIMIT 5;
SELECT count(*) FROM t a JOIN t b ON a.k = b.id WHERE a.id % 10 = 0;
UPDATE t SET body = body || body WHERE id % 3 = 0;
DELETE FROM t WHERE id % 4 = 0;
SELECT count(*), sum(length(body)) FROM t;
