"""Peak memory of this process image, for the benchmarks."""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """VmHWM: the resident high-water mark of this process image.

    ``ru_maxrss`` is not used: Linux carries it across exec from the process
    that forked us, so a small child of a large parent would report the
    parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for row in fh:
                if row.startswith("VmHWM:"):
                    return round(int(row.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
