# SPDX-License-Identifier: LGPL-2.1-or-later
"""write_back.write_back(): the benchmarks start sfbd from a binary whose pages are
written back, so that its memory figures count sfbd's memory and not a fresh build's page
cache (docs/benchmarks.md, "Idle memory: the 800 kB").

A file just written is dirty in the page cache until the kernel writes it back (about
30 s), and a process that maps it counts its pages as Private_Dirty: the test writes a
file beside sfbd's binary (same file system), maps and reads it, and checks that
write_back() leaves none of its pages dirty.
"""

import mmap
import os
import tempfile
import unittest

from write_back import write_back

SIZE = 256 * 1024


def mapping_private_dirty_kb(path):
    """Private_Dirty of this process's mappings of `path` (kB)."""
    total = 0
    current = False
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            if fields and "-" in fields[0] and not fields[0].endswith(":"):
                current = len(fields) >= 6 and fields[5] == path
            elif current and fields[0] == "Private_Dirty:":
                total += int(fields[1])
    return total


class WriteBackTest(unittest.TestCase):
    def test_mapped_pages_are_clean_after_write_back(self):
        build = os.environ["SFBD_BUILD_DIR"]
        with tempfile.NamedTemporaryFile(dir=os.path.join(build, "daemon"),
                                         prefix="write-back-") as f:
            # a sync elsewhere may write the new pages back first: write them
            # again (a test that skipped would count as passed)
            for _ in range(3):
                f.seek(0)
                f.write(os.urandom(SIZE))
                f.flush()
                with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                    sum(m[i] for i in range(0, SIZE, mmap.PAGESIZE))  # every page mapped
                    before = mapping_private_dirty_kb(f.name)
                    if before == 0:
                        continue
                    write_back(f.name)
                    self.assertEqual(mapping_private_dirty_kb(f.name), 0,
                                     f"{before} kB dirty before write_back()")
                    return
            self.fail("a file just written never showed dirty pages: the check proves nothing")

if __name__ == "__main__":
    unittest.main()
