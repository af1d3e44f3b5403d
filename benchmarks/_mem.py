"""Peak memory of this process image, for the benchmarks."""

from __future__ import annotations

import resource

from meetguard.batch import peak_rss_mb as _vm_hwm_mb


def peak_rss_mb() -> float:
    """VmHWM: the resident high-water mark of this process image (what batch workers
    report), else ``ru_maxrss`` where /proc is missing.

    ``ru_maxrss`` is not the first choice: Linux carries it across exec from the process
    that forked us, so a small child of a large parent would report the parent's peak.
    """
    return _vm_hwm_mb() or round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
