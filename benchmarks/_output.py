"""How every benchmark hands back its result."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def emit(report: Mapping[str, Any], out: str | Path | None, indent: int = 1) -> None:
    """Print the report as one JSON object, and write it to ``out`` as well when given."""
    text = json.dumps(report, indent=indent)
    print(text)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
