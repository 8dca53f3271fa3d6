"""Keeping freed memory for the next training step.

Every training step allocates and frees the same large arrays: activations, gradients, the
convolutions' column buffers. glibc's malloc gives a freed block above a size threshold back
to the operating system, so the next step's block is fresh memory that the kernel must map
and zero one 4 KiB page at a time on first touch (a "page fault"). For the CNN step of
examples/benchmark.py that was about 10,000 page faults per step; removing them took a third
off examples/train_cnn.py on a 2-core machine (76.5 s to 50.6 s).

`reuse_freed_memory()` raises both glibc thresholds (mmap and heap trimming) so freed blocks
stay in the process and are reused. The price: the process does not shrink after a peak.
The lessons runner and the example scripts call it; the library itself never does, because
it changes the whole process.
"""
import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers, from glibc's malloc.h
KEEP_UP_TO_BYTES = 1 << 30


def reuse_freed_memory():
    """Ask glibc's malloc to keep freed blocks (up to 1 GiB each) for reuse.

    Returns True if the setting took effect (Linux with glibc), False where there is no
    glibc (macOS, Windows, musl), in which case nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_UP_TO_BYTES)) and \
        bool(mallopt(M_TRIM_THRESHOLD, KEEP_UP_TO_BYTES))
