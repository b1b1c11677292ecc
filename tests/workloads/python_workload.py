# A dict-, list- and string-heavy workload whose output does not depend on
# the allocator: builds and drops large containers, prints digests.
import hashlib

h = hashlib.sha256()
for rnd in range(6):
    d = {}
    for i in range(60000):
        key = "k%d_%d" % (rnd, i * 7919 % 100003)
        d[key] = [i, str(i) * (i % 13), {"x": i % 17}]
    words = sorted(d.keys())
    h.update(" ".join(words[::97]).encode())
    lists = [list(range(i % 300)) for i in range(4000)]
    h.update(str(sum(len(x) for x in lists)).encode())
    s = "".join(chr(65 + (i % 26)) * (i % 40) for i in range(20000))
    h.update(s[::101].encode())
    parts = s.split("A")
    h.update(str(len(parts)).encode())
    t = {i: bytes(range(i % 256)) for i in range(5000)}
    h.update(b"".join(t[i] for i in range(0, 5000, 50)))
    del d, words, lists, s, parts, t
print(h.hexdigest())
