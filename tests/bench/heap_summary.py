#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The heap figures of tests/bench/heap_at_idle.sh's copies (docs/benchmarks.md, "Heap,
third pass").

  heap_summary.py PREFIX [PREFIX...]

Per PREFIX, one line (kB): live bytes of the main arena (malloc_info's current system
size less its free chunks: what is allocated, malloc's chunk headers included), the arena's
size, the [heap] mapping's Private_Dirty, then Private_Dirty, Pss and Rss of smaps_rollup,
and the load.  The FILE that gdb opens for malloc_info() (and its buffer, ~5 kB) is
counted in the live bytes, the same in every copy.
"""

import re
import sys


def field(text, name):
    return int(re.search(rf"^{name}:\s+(\d+)", text, re.M).group(1))


def main(prefixes):
    print("| copy | live | arena | [heap] Private_Dirty | Private_Dirty | Pss | Rss | load |")
    print("|---|---|---|---|---|---|---|---|")
    for prefix in prefixes:
        with open(prefix + ".xml", encoding="utf-8") as f:
            arena = f.read().split('<heap nr="0">')[1].split("</heap>")[0]
        free = sum(int(n) for n in re.findall(
            r'<total type="(?:fast|rest)" count="\d+" size="(\d+)"', arena))
        size = int(re.search(r'<system type="current" size="(\d+)"', arena).group(1))
        with open(prefix + ".smaps", encoding="utf-8", errors="replace") as f:
            heap = f.read().split("[heap]")[1].split("VmFlags")[0]
        with open(prefix + ".rollup", encoding="ascii") as f:
            rollup = f.read()
        with open(prefix + ".load", encoding="ascii") as f:
            load = " ".join(f.read().split()[:3])
        print(f"| {prefix.rsplit('/', 1)[-1]} | {(size - free) // 1024} | {size // 1024} "
              f"| {field(heap, 'Private_Dirty')} | {field(rollup, 'Private_Dirty')} "
              f"| {field(rollup, 'Pss')} | {field(rollup, 'Rss')} | {load} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
