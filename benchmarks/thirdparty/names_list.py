"""Build meetguard/data/first_names.txt from names-dataset (PyPI, Apache-2.0), by hand:

    pip download names-dataset==3.3.1 --no-deps -d /tmp/nd
    python benchmarks/thirdparty/names_list.py /tmp/nd/names_dataset-3.3.1-py3-none-any.whl

Keeps the first names ranked in the top 1,000 of any of 30 countries (English-, Romance-,
Germanic- and Nordic-speaking, plus NG, PH, SG, TR, IL, IN), ASCII letters only, 3+ letters,
lower case. Loading the dataset takes about 1 GB of memory (once, here, never at run time).
"""

from __future__ import annotations

import gzip
import io
import pickle
import sys
import zipfile
from pathlib import Path

COUNTRIES = frozenset({"US", "GB", "CA", "AU", "IE", "NZ", "ZA", "IN", "DE", "FR", "ES", "IT", "NL", "PT", "BR",
                       "MX", "AR", "PL", "SE", "NO", "DK", "FI", "BE", "AT", "CH", "NG", "PH", "SG", "TR", "IL"})
OUT = Path(__file__).resolve().parents[2] / "meetguard" / "data" / "first_names.txt"
HEADER = ("# First names ranked in the top 1,000 of 30 countries by names-dataset 3.3.1 (PyPI, Apache-2.0;\n"
          "# philipperemy/name-dataset): built by benchmarks/thirdparty/names_list.py. Used for lower-case "
          "names (_names.py).\n")


def main(wheel: str) -> None:
    raw = zipfile.ZipFile(wheel).read("names_dataset/v3/first_names.pkl.gz")
    with gzip.open(io.BytesIO(raw)) as fh:
        data = pickle.load(fh)
    keep = set()
    for name, attrs in data.items():
        ranks = [v for c, v in (attrs.get("rank") or {}).items() if c in COUNTRIES and v is not None]
        low = name.lower()
        if ranks and min(ranks) <= 1000 and low.isascii() and low.isalpha() and len(low) >= 3:
            keep.add(low)
    OUT.write_text(HEADER + "\n".join(sorted(keep)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
