"""A progress bar with time left, on stderr, for long audio work (CLI only)."""

from __future__ import annotations

import sys

from tqdm import tqdm


class ProgressBar:
    """Callable progress sink: ``bar(done_seconds, total_seconds)``."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: tqdm[None] | None = None

    def __call__(self, done: float, total: float) -> None:
        if self._bar is None:
            self._bar = tqdm(total=round(total, 1), desc=self._label, unit="s audio", file=sys.stderr,
                             leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                             "{n:.0f}/{total:.0f} s [{elapsed}<{remaining}]")
        self._bar.n = round(min(done, total), 1)
        self._bar.refresh()
        if done >= total:
            self._bar.close()
