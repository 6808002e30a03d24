#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A hook for `bench_contacts.py --at-idle` (docs/benchmarks.md, "Heap, third pass"):
#   build-aux/run-bench --contacts --idle-only --at-idle 'tests/bench/heap_at_idle.sh PREFIX'
# With SFBD_PID set, writes PREFIX.xml (glibc's malloc_info() of sfbd, read through gdb),
# PREFIX.smaps, PREFIX.rollup (/proc/PID/smaps, smaps_rollup) and PREFIX.load
# (/proc/loadavg); tests/bench/heap_summary.py PREFIX... prints them.
set -eu
prefix=$1
: "${SFBD_PID:?set by bench_contacts.py --at-idle}"
gdb -p "$SFBD_PID" -batch -nx \
  -ex "set \$f = (void *) fopen(\"$prefix.xml\", \"w\")" \
  -ex 'call (int) malloc_info(0, $f)' -ex 'call (int) fclose($f)' >/dev/null 2>&1
cp "/proc/$SFBD_PID/smaps" "$prefix.smaps"
cp "/proc/$SFBD_PID/smaps_rollup" "$prefix.rollup"
cp /proc/loadavg "$prefix.load"
