# The python3 workload of make bench (run with PYTHONMALLOC=malloc, so that
# every object comes from the allocator under test): builds and drops large
# dicts, lists and strings.  ROUNDS (argv[1], default 2) of the same work.
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
total = 0
for rnd in range(rounds):
    d = {}
    for i in range(200000):
        d["key%d" % i] = [i, str(i) * (i % 7 + 1), (i, i + 1)]
    total += sum(len(v[1]) for v in d.values())
    words = [("w%d" % (i * 7919 % 100003)) * (1 + i % 5) for i in range(300000)]
    words.sort()
    text = " ".join(words)
    total += len(text.split(" "))
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    total += len(counts)
    del d, words, text, counts
print("python_dicts", total)
