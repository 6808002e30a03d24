# SPDX-License-Identifier: LGPL-2.1-or-later
"""write_back(): a file's page cache written to disk before a benchmark maps it (its own
module: bench_signin.py enters the test network as it is imported)."""

import os


def write_back(path):
    """Writes `path`'s dirty page-cache pages to disk (fsync) and waits for it.  A binary
    just linked stays dirty in the page cache until the kernel writes it back (about 30 s:
    vm.dirty_expire_centisecs), and while it is, each of its pages a process maps counts
    as that process's Private_Dirty: for sfbd some 800 kB more in the memory figures of a
    run started right after a build (docs/benchmarks.md, "Idle memory: the 800 kB")."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
