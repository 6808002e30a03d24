#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sum a /proc/PID/smaps copy by mapped file (docs/benchmarks.md, "PSS by mapping").

  smaps_by_mapping.py FILE [FILE...]

FILE is a copy of /proc/PID/smaps (run-bench with SFBD_BENCH_SMAPS_DIR=DIR keeps one per
memory measurement).  Prints, per library or file, and for the heap, the stacks and other
anonymous memory: Pss, Rss and Private_Dirty (kB), largest Pss first, then the totals.
With several files, each column is the median over the files.
"""

import re
import statistics
import sys

HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")
KEYS = ("Pss", "Rss", "Private_Dirty")


def name_of(path):
    if not path:
        return "[anon]"
    if path.startswith("["):
        return "[stack]" if path.startswith("[stack") else path
    return path.rsplit("/", 1)[-1]


def read(path):
    sums = {}
    current = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if HEADER.match(line):
                fields = line.split(None, 5)
                current = sums.setdefault(name_of(fields[5].strip() if len(fields) > 5 else ""),
                                          dict.fromkeys(KEYS, 0))
                continue
            key, _, rest = line.partition(":")
            if current is not None and key in KEYS:
                current[key] += int(rest.split()[0])
    return sums


def main():
    runs = [read(p) for p in sys.argv[1:]]
    if not runs:
        sys.exit(__doc__)
    names = set().union(*runs)
    table = {n: {k: statistics.median(r.get(n, {}).get(k, 0) for r in runs) for k in KEYS}
             for n in names}
    print("| mapping | Pss | Rss | Private_Dirty |")
    print("|---|---|---|---|")
    for n in sorted(names, key=lambda n: -table[n]["Pss"]):
        row = table[n]
        print(f"| {n} | {row['Pss']:g} | {row['Rss']:g} | {row['Private_Dirty']:g} |")
    totals = {k: sum(table[n][k] for n in names) for k in KEYS}
    print(f"| **total** | **{totals['Pss']:g}** | **{totals['Rss']:g}** | "
          f"**{totals['Private_Dirty']:g}** |")


if __name__ == "__main__":
    main()
