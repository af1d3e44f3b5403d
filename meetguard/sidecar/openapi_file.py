"""``python -m meetguard.sidecar.openapi_file > docs/openapi.json``: the committed description.

It is generated from a sidecar with the default config (no Zoom hook, no live routes);
tests/test_gateway_routes.py checks that the served ``/openapi.json`` equals the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .app import init_app
from .config import SidecarConfig
from .openapi import render

__all__ = ["main"]


def main() -> None:
    sys.stdout.write(render(init_app(SidecarConfig(policy=Path("policy.yaml")))))


if __name__ == "__main__":
    main()
