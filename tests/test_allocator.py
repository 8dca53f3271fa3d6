"""reuse_freed_memory: freed blocks are reused instead of faulted in again (glibc only)."""
import ctypes.util
import subprocess
import sys

import pytest

GLIBC = sys.platform.startswith("linux") and ctypes.util.find_library("c") == "libc.so.6"

# Allocate, touch and free a 48 MiB array 20 times; print the page faults of the last 10.
# (glibc always hands blocks over 32 MiB back; smaller ones once the heap's free top is large.)
PROBE = """
import resource, sys
import numpy as np
from minigrad.allocator import reuse_freed_memory
if sys.argv[1] == "reuse":
    assert reuse_freed_memory()
for i in range(20):
    if i == 10:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(12 * 2 ** 20, dtype=np.float32)
    del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode):
    result = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                            check=True)
    return int(result.stdout)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_freed_blocks_are_reused_without_page_faults():
    # A fresh 48 MiB block is faulted in page by page: 12,288 faults with 4 KiB pages, at
    # least 24 with 2 MiB huge pages. A reused block is already mapped.
    default, reuse = page_faults("default"), page_faults("reuse")
    assert default >= 10 * 24
    assert reuse * 20 < default, (default, reuse)


def test_returns_false_without_glibc(monkeypatch):
    from minigrad import allocator
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.reuse_freed_memory() is False
