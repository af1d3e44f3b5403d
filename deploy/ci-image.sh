#!/usr/bin/env bash
# CI (#27): build the sidecar image with podman from a base made here with debootstrap,
# check it, run its entrypoint on the image's root file system and send the README's curl
# line to it. Run as root (apt-get, debootstrap, chroot); step 4 of `.ci/run`
# (docs/deploy.md "Container"). MEETGUARD_IMAGE_TARGET=full checks the `full` target
# (video) instead of the default runtime one.
#
#   1. podman + debootstrap from the Debian archive (if missing), and 8 GB free under
#      /var/tmp (MEETGUARD_IMAGE_MIN_FREE_BYTES);
#   2. the base: Debian bookworm (minbase) + python3, made by debootstrap, without apt's
#      lists, docs, manuals and translations, imported as localhost/meetguard-base (the
#      Dockerfile's PYTHON_IMAGE build argument);
#   3. `podman build --isolation chroot --format docker --layers=false` (vfs copies the
#      whole root file system at each commit: one commit per stage) of the Dockerfile's default
#      target (tried twice: pip's index may hiccup), pip inside it set up as pip is here (this machine's pip configuration and
#      the local folders it names are mounted into the build's RUN steps): every package
#      from requirements/lock.txt with --require-hashes, as `make setup` installs them;
#   4. checks: under 1.5 GB, USER non-root, a HEALTHCHECK (docker format), no triton, no
#      demo plugin;
#   5. a container's root file system (podman create + mount), entered with chroot as the
#      image's user, the image's environment and its ENTRYPOINT + CMD; then /readyz, the
#      HEALTHCHECK's own command, the README's curl line (a released meeting), and no
#      error line in what the sidecar logged;
#   6. `meetguard guard` inside the image on a short FLAC and on 2 s of video its ffmpeg
#      makes (decision release, the redacted audio written; the video released by `full`,
#      withheld by the runtime target, which has no video stage, saying so).
# Storage is private to the run (vfs under a temp folder) and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MAX_BYTES=${MEETGUARD_IMAGE_MAX_BYTES:-1500000000}
MIN_FREE=${MEETGUARD_IMAGE_MIN_FREE_BYTES:-8000000000}
TARGET=${MEETGUARD_IMAGE_TARGET:-runtime}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PORT=${MEETGUARD_IMAGE_PORT:-18090}
WORK=$(mktemp -d /var/tmp/meetguard-image.XXXXXX)
PODMAN=(podman --storage-driver vfs --root "$WORK/storage" --runroot "$WORK/run")
TAG=localhost/meetguard:ci
BASE=localhost/meetguard-base:ci
server=""
mnt=""
ctr=""

say() { echo "ci-image: $*"; }
fail() { echo "ci-image: FAILED: $*"; exit 1; }
# exit 3: this machine cannot build images (not root, no podman/debootstrap to be had, no
# Debian mirror): not a fault of the image; exit 1 is one (docs/deploy.md "Container").
skip() { echo "ci-image: SKIPPED: $*"; exit 3; }
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; sleep 2; kill -KILL "$server" 2>/dev/null || true; fi
  if [ -n "$mnt" ]; then umount "$mnt/proc" "$mnt/dev" 2>/dev/null || true; fi
  if [ -n "$ctr" ]; then "${PODMAN[@]}" umount "$ctr" >/dev/null 2>&1 || true; "${PODMAN[@]}" rm -f "$ctr" >/dev/null 2>&1 || true; fi
  "${PODMAN[@]}" rmi -af >/dev/null 2>&1 || true
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT
step() { STEP_START=$(date +%s); say "$*"; }
took() { say "  ($(( $(date +%s) - STEP_START )) s)"; }

# 1. tools and room
step "podman and debootstrap"
[ "$(id -u)" = 0 ] || skip "not root (apt-get, debootstrap, chroot and mount need it)"
free=$(df -P -B1 "$WORK" | awk 'NR == 2 {print $4}')
[ "$free" -ge "$MIN_FREE" ] \
  || skip "$(( free / 1000000 )) MB free under $(dirname "$WORK"), the build needs $(( MIN_FREE / 1000000 )) MB"
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap >/dev/null; } \
    || skip "podman and debootstrap could not be installed with apt-get"
fi
podman --version
took

# 2. the base image, made here
step "base: debootstrap bookworm (minbase + python3)"
# MEETGUARD_IMAGE_BASE_TAR=FILE: keep the base's tar there and use it again next time.
BASE_TAR=${MEETGUARD_IMAGE_BASE_TAR:-}
if [ -n "$BASE_TAR" ] && [ -s "$BASE_TAR" ]; then
  say "  the base from $BASE_TAR (MEETGUARD_IMAGE_BASE_TAR)"
else
  debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
    bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -5 "$WORK/debootstrap.log"; skip "debootstrap could not make the base from $MIRROR"; }
  chroot "$WORK/rootfs" apt-get clean
  # what no program in the image reads: apt's lists, documentation, manuals, translations
  (cd "$WORK/rootfs" && rm -rf var/lib/apt/lists/* var/cache/apt/* var/log/* usr/share/doc/* \
    usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/lintian usr/share/common-licenses)
  tar -C "$WORK/rootfs" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf "${BASE_TAR:-$WORK/base.tar}" .
  rm -rf "$WORK/rootfs"
fi
"${PODMAN[@]}" import - "$BASE" <"${BASE_TAR:-$WORK/base.tar}" >/dev/null
rm -f "$WORK/base.tar"
took

# 3. the image. pip inside the build is set up as pip is here: its configuration, as one
# file, and every local folder it names (find-links, file:// indexes, constraints).
step "podman build --target $TARGET (chroot isolation, --format docker)"
mounts=()
{
  echo "[global]"
  python3 -m pip config list 2>/dev/null | sed -n "s/^global\.\([a-z-]*\)='\(.*\)'$/\1 = \2/p"
} >"$WORK/pip.conf"
mounts+=(-v "$WORK/pip.conf:/etc/pip.conf:ro")
for dir in $(grep -o "\(file://\)\?/[^ ]*" "$WORK/pip.conf" | sed 's|^file://||'); do
  [ -e "$dir" ] || continue
  top=$(echo "$dir" | cut -d/ -f1-3)          # /opt/pypi/simple -> /opt/pypi
  case " ${mounts[*]:-} " in *" $top:$top:ro "*) ;; *) mounts+=(-v "$top:$top:ro") ;; esac
done
torch_index=$(grep -o "file://[^ ]*" "$WORK/pip.conf" | head -1 || true)
build() {
  "${PODMAN[@]}" build --isolation chroot --format docker --layers=false "${mounts[@]}" \
    --build-arg PYTHON_IMAGE="$BASE" \
    ${torch_index:+--build-arg TORCH_INDEX_URL="$torch_index"} \
    --target "$TARGET" -t "$TAG" "$ROOT" >"$WORK/build.log" 2>&1
}
if ! build; then
  grep -av '^WARNING: Location' "$WORK/build.log" | tail -10
  say "  the build failed; once more (a package index may have hiccuped)"
  build || { grep -av '^WARNING: Location' "$WORK/build.log" | tail -30; fail "podman build (twice)"; }
fi
grep -a "slim-venv: \|lean-venv: " "$WORK/build.log" | sed 's/^/ci-image:   /' || true
took

# 4. what the image is
step "checks: size, user, healthcheck, contents"
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$TAG")
user=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}' "$TAG")
health=$("${PODMAN[@]}" image inspect --format '{{.Config.Healthcheck}}' "$TAG")
say "size $size bytes ($(( size / 1000000 )) MB), user '$user'"
ctr=$("${PODMAN[@]}" create "$TAG")
mnt=$("${PODMAN[@]}" mount "$ctr")
site=$(echo "$mnt"/opt/venv/lib/python3*/site-packages)
say "the largest parts (MB):"
{ du -sm "$mnt/opt/meetguard" "$mnt/usr"; du -sm "$site"/* | sort -rn | sed -n '1,30p'
  echo "$(( $(find "$site" -name __pycache__ -type d -prune -print0 | du -cb --files0-from=- | tail -1 | cut -f1) / 1000000 ))	(byte code, all packages)"
} 2>/dev/null \
  | sed "s|$mnt||; s|^|ci-image:   |"
[ "$size" -lt "$MAX_BYTES" ] || fail "the image is $size bytes, over $MAX_BYTES"
case "$user" in ""|0|root|0:*|root:*) fail "the image runs as root" ;; esac
case "$health" in *healthz*) ;; *) fail "no HEALTHCHECK in the image (build with --format docker)" ;; esac
[ ! -e "$site/triton" ] || fail "triton is in the image"
if ls "$site" | grep -qi "meetguard_example\|faster_whisper_backend\|meetguard_plugin"; then fail "a demo plugin is in the runtime image"; fi
took

# 5. the entrypoint on the image's root file system, as the image's user
step "entrypoint on the image's root file system (chroot as $user) + the README's curl line"
mount --bind /dev "$mnt/dev"
mount -t proc proc "$mnt/proc"
envs=()
while IFS= read -r kv; do [ -n "$kv" ] && envs+=("$kv"); done \
  < <("${PODMAN[@]}" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$TAG")
entry=$("${PODMAN[@]}" image inspect --format '{{range .Config.Entrypoint}}{{.}} {{end}}{{range .Config.Cmd}}{{.}} {{end}}' "$TAG")
workdir=$("${PODMAN[@]}" image inspect --format '{{.Config.WorkingDir}}' "$TAG")
uid=${user%%:*}
line=$(grep -m1 "^curl .*/v1/guard" README.md)
token=$(echo "$line" | sed -n "s/.*Bearer \([^' ]*\)'.*/\1/p")
[ -n "$token" ] || fail "no bearer token in the README's curl line"
log="$WORK/serve.log"
# shellcheck disable=SC2086
chroot --userspec="$uid:$uid" "$mnt" /usr/bin/env -i "${envs[@]}" HOME="$workdir" \
  MEETGUARD_TOKENS="$token" MEETGUARD_LISTEN_PORT="$PORT" \
  /bin/sh -c "cd '$workdir' && exec $entry" >"$log" 2>&1 &
server=$!
ready=""
for _ in $(seq 1 300); do
  kill -0 "$server" 2>/dev/null || { tail -30 "$log"; fail "the entrypoint exited"; }
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)" = 200 ]; then ready=1; break; fi
  sleep 1
done
[ -n "$ready" ] || { tail -30 "$log"; fail "/readyz never said 200"; }
hc=$("${PODMAN[@]}" image inspect --format '{{range .Config.Healthcheck.Test}}{{.}}{{"\x00"}}{{end}}' "$TAG" \
  | tr '\0' '\n' | sed -n '2,$p' | sed "s/:8080/:$PORT/")
mapfile -t hc_cmd <<<"$hc"
chroot --userspec="$uid:$uid" "$mnt" /usr/bin/env -i "${envs[@]}" "${hc_cmd[@]}" || fail "the HEALTHCHECK command failed"
answer=$(bash -c "${line//:8080/:$PORT}")
decision=$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["decision"])' 2>/dev/null || true)
case "$decision" in
  release|partial) say "the README's curl line: decision $decision" ;;
  *) fail "the README's curl line: expected a released meeting, got: $(echo "$answer" | head -c 300)" ;;
esac
if grep -E '"level": ?"(ERROR|CRITICAL)"|Traceback|PermissionError' "$log"; then
  fail "error lines in the sidecar's log (above)"
fi
say "no error line in $(wc -l <"$log") log lines"
took

# 6. audio and video through the image's CLI, as its user: a short FLAC (ffmpeg, tiny.en,
#    the verify decode with base) and 2 s of video made by the image's own ffmpeg (faces
#    with OpenCV, text on screen with onnxruntime): what slim-venv.sh removed is not used.
step "audio and video through the image's CLI (chroot as $user)"
smoke=/tmp/meetguard-smoke
mkdir -p "$mnt$smoke"
cp tests/fixtures/speech/call.flac "$mnt$smoke/call.flac"
chown -R "$uid:$uid" "$mnt$smoke"
in_image() { chroot --userspec="$uid:$uid" "$mnt" /usr/bin/env -i "${envs[@]}" HOME="$workdir" "$@"; }
in_image ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=10 -f lavfi -i sine=frequency=440 \
  -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$smoke/call.mp4" || fail "ffmpeg in the image"
for kind in audio video; do
  file="$smoke/call.flac"; [ "$kind" = video ] && file="$smoke/call.mp4"
  if ! in_image meetguard guard --policy /etc/meetguard/policy.yaml --purpose summarization \
      --recipient summarizer --attendee p-alice --attendee p-bob "--$kind" "$file" \
      --out "$smoke/out-$kind" --audit "$smoke/audit.jsonl" >"$WORK/$kind.log" 2>&1; then
    tail -20 "$WORK/$kind.log"; fail "meetguard guard --$kind in the image"
  fi
  decision=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision"])' "$mnt$smoke/out-$kind/decision.json")
  made=$(cd "$mnt$smoke/out-$kind" && ls | grep -v '^decision.json$' | tr '\n' ' ')
  case "$decision" in release|partial) ;; *) fail "--$kind: expected a release, got $decision" ;; esac
  case "$made" in *.wav*) ;; *) fail "--$kind: no released audio in: $made" ;; esac
  if [ "$kind" = video ] && [ "$TARGET" = runtime ]; then
    # no video stage in the runtime target: the video withheld, saying where it is
    case "$made" in *.mp4*) fail "--video: the runtime target released a video" ;; esac
    grep -q "no video stage installed here" "$mnt$smoke/out-$kind/decision.json" \
      || fail "--video: the runtime target withheld the video without saying why"
    made="$made(video withheld: no video stage, as meant)"
  elif [ "$kind" = video ]; then
    case "$made" in *.mp4*) ;; *) fail "--video: no released video in: $made" ;; esac
  fi
  say "--$kind: decision $decision, released: $made"
done
took
say "OK"
