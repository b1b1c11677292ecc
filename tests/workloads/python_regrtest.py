# usage: python3.11 python_regrtest.py OUTCOMES TEST_MODULE...
# Runs CPython's own regression tests for the modules named (Debian's
# libpython3.11-testsuite, sequentially, in this process) and writes to
# OUTCOMES one line per module (its regrtest result: good, bad, skipped,
# resource_denieds, environment_changed, run_no_tests) and one line per test
# case (ok, skipped and why, failure, error), sorted, so that a run under
# hakmem can be compared with a run under glibc.  The console output is
# regrtest's own, on stdout.
# Under LD_PRELOAD it first proves, from its own /proc/self/maps, that
# libhakmem.so is mapped into this process.
import os
import sys
import xml.etree.ElementTree as ET

outcomes, modules = os.path.abspath(sys.argv[1]), sys.argv[2:]
if "libhakmem" in os.environ.get("LD_PRELOAD", ""):
    with open("/proc/self/maps") as maps:
        mapped = [line for line in maps if "libhakmem" in line]
    if not mapped:
        sys.exit("libhakmem is not in /proc/self/maps: hakmem was not in use")
    sys.stderr.writelines(mapped)

from test.libregrtest.main import Regrtest

xml = outcomes + ".xml"
sys.argv[1:] = ["--junit-xml", xml] + modules
regrtest = Regrtest()
try:
    regrtest.main()          # always ends in SystemExit
finally:
    lines = []
    for result in ("good", "bad", "skipped", "resource_denieds", "environment_changed", "run_no_tests"):
        lines += ["module %s: %s" % (name, result) for name in getattr(regrtest, result)]
    if os.path.exists(xml):
        for case in ET.parse(xml).getroot().iter("testcase"):
            outcome = "ok"
            for child in case:
                outcome = child.tag
                if child.tag == "skipped":
                    outcome += ": " + (child.text or child.get("message") or "").strip()
            lines.append("case %s: %s" % (case.get("name"), outcome))
    with open(outcomes, "w") as f:
        f.writelines(line + "\n" for line in sorted(lines))
