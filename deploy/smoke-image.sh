#!/usr/bin/env bash
# Smoke test of the maskattn image without a Docker engine: runs the image's own
# ENTRYPOINT + CMD in a working container with `buildah run --isolation chroot`
# (which shares the host network) on a free loopback port, then
#
#   - checks the image config (non-root USER, HEALTHCHECK, STOPSIGNAL, VOLUME, port),
#   - waits for /readyz, runs the image's HEALTHCHECK command inside the container,
#   - submits a propagate job (a generated 1 s clip with audio, a PNG mask and an
#     edited keyframe), polls it to `succeeded`, downloads the output and checks it
#     with ffprobe (H.264, size, frame count, audio kept),
#   - sends SIGTERM to the server and checks that it drains and exits 0.
#
# Usage: deploy/smoke-image.sh [IMAGE]   (default $MASKATTN_IMAGE or localhost/maskattn:latest)
# MASKATTN_SMOKE_REDIS_URL, when set, is passed to the server as MASKATTN_REDIS_URL (a
# Redis on loopback, e.g. redis://127.0.0.1:6379/0), to smoke-test the Redis store too.
# Needs root (buildah's vfs store), buildah, curl, ffmpeg/ffprobe and /usr/bin/python3;
# missing ones are installed with apt-get when run as root.
set -euo pipefail
. "$(dirname "$0")/tools.sh"

IMAGE=${1:-${MASKATTN_IMAGE:-localhost/maskattn:latest}}
PY=/usr/bin/python3
BUILDAH=(buildah --storage-driver vfs)
READY_TIMEOUT=${MASKATTN_SMOKE_READY_TIMEOUT:-60}
JOB_TIMEOUT=${MASKATTN_SMOKE_JOB_TIMEOUT:-300}
STOP_TIMEOUT=${MASKATTN_SMOKE_STOP_TIMEOUT:-60}

log() { printf '== %s\n' "$*"; }
fail() { printf 'smoke: FAIL: %s\n' "$*" >&2; exit 1; }

need_tools() {
	local missing=()
	command -v buildah >/dev/null || missing+=(buildah)
	command -v curl >/dev/null || missing+=(curl)
	command -v ffprobe >/dev/null || missing+=(ffmpeg)
	[ -x "$PY" ] || missing+=(python3)
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || fail "missing tools; run: sudo apt-get install -y ${missing[*]}"
	apt_install "${missing[@]}"
}

WORK=$(mktemp -d)
CTR=""
RUN_PID=""

# The server process: the descendant of `buildah run` whose command is maskattn.
server_pid() {
	local todo=("$RUN_PID") p kids
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		if [ "$p" != "$RUN_PID" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = maskattn ]; then
			echo "$p"
			return 0
		fi
		kids=$(cat /proc/"$p"/task/*/children 2>/dev/null || true)
		# shellcheck disable=SC2206
		todo+=($kids)
	done
	return 1
}

cleanup() {
	local rc=$? pid
	if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
		pid=$(server_pid || true)
		if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
		for _ in $(seq 1 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$RUN_PID" 2>/dev/null || true
		wait "$RUN_PID" 2>/dev/null || true
	fi
	if [ -n "$CTR" ]; then "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1 || true; fi
	if [ $rc -ne 0 ] && [ -f "$WORK/server.log" ]; then
		echo "--- server log (last 40 lines)" >&2
		tail -40 "$WORK/server.log" >&2
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# json FILE EXPR: prints EXPR evaluated on the JSON document `d` of FILE.
json() { "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

need_tools

log "image $IMAGE"
"${BUILDAH[@]}" inspect --type image "$IMAGE" >"$WORK/inspect.json" \
	|| fail "no image $IMAGE (build it with deploy/build-image.sh)"
json "$WORK/inspect.json" 'json.dumps(d["Docker"]["config"])' >"$WORK/config.json"
user=$(json "$WORK/config.json" 'd.get("User") or ""')
health=$(json "$WORK/config.json" 'json.dumps((d.get("Healthcheck") or {}).get("Test"))')
stopsig=$(json "$WORK/config.json" 'd.get("StopSignal") or ""')
volumes=$(json "$WORK/config.json" '" ".join(sorted(d.get("Volumes") or {}))')
ports=$(json "$WORK/config.json" '" ".join(sorted(d.get("ExposedPorts") or {}))')
data_dir=$(json "$WORK/config.json" '[e.split("=", 1)[1] for e in d.get("Env") or [] if e.startswith("MASKATTN_DATA=")][0]')
echo "user=$user stopsignal=$stopsig volumes=$volumes ports=$ports data=$data_dir"
echo "healthcheck=$health"
case "${user%%:*}" in "" | 0 | root) fail "image runs as root (USER '$user')" ;; esac
[ "$health" != null ] || fail "image has no HEALTHCHECK (built in OCI format?)"
[ "$stopsig" = SIGTERM ] || fail "STOPSIGNAL is '$stopsig', want SIGTERM"
[ "$volumes" = "$data_dir" ] || fail "VOLUME '$volumes' is not the data directory '$data_dir'"
[ "$ports" = 8080/tcp ] || fail "EXPOSE '$ports', want 8080/tcp"

# The command the image starts: ENTRYPOINT + CMD, exactly as an engine would.
mapfile -t cmd < <(json "$WORK/config.json" '"\n".join((d.get("Entrypoint") or []) + (d.get("Cmd") or []))')
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

CTR=$("${BUILDAH[@]}" from --pull=never "$IMAGE")
log "starting ${cmd[*]} in $CTR on port $port"
run_env=(--env MASKATTN_PORT="$port" --env MASKATTN_GRACE=20)
if [ -n "${MASKATTN_SMOKE_REDIS_URL:-}" ]; then
	run_env+=(--env MASKATTN_REDIS_URL="$MASKATTN_SMOKE_REDIS_URL")
	log "with MASKATTN_REDIS_URL=$MASKATTN_SMOKE_REDIS_URL"
fi
"${BUILDAH[@]}" run --isolation chroot "${run_env[@]}" "$CTR" -- "${cmd[@]}" >"$WORK/server.log" 2>&1 &
RUN_PID=$!

start=$(date +%s)
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" = 200 ]; do
	kill -0 "$RUN_PID" 2>/dev/null || fail "server exited before it was ready"
	[ $(($(date +%s) - start)) -lt "$READY_TIMEOUT" ] || fail "/readyz not 200 after ${READY_TIMEOUT} s"
	sleep 0.2
done
pid=$(server_pid) || fail "no maskattn process under buildah run"
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
echo "ready after $(($(date +%s) - start)) s; server pid $pid runs as uid $uid"
[ "$uid" = "${user%%:*}" ] || fail "server runs as uid $uid, not the image's USER $user"

log "HEALTHCHECK inside the container"
hc_shell=$(json "$WORK/config.json" '(lambda t: t[1] if t[0] == "CMD-SHELL" else " ".join(t[1:]))(d["Healthcheck"]["Test"])')
"${BUILDAH[@]}" run --isolation chroot --env MASKATTN_PORT="$port" "$CTR" -- /bin/sh -c "$hc_shell" \
	|| fail "HEALTHCHECK command failed"
echo "healthcheck: ok"

log "job: generated clip, mask and keyframe"
ffmpeg -v error -y -f lavfi -i testsrc2=size=160x96:rate=24:duration=1 \
	-f lavfi -i sine=frequency=440:duration=1 \
	-c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$WORK/clip.mp4"
ffmpeg -v error -y -f lavfi \
	-i 'color=black:size=160x96,drawbox=x=40:y=24:w=80:h=48:color=white:t=fill' \
	-frames:v 1 "$WORK/mask.png"
ffmpeg -v error -y -i "$WORK/clip.mp4" -vf hue=h=120 -frames:v 1 "$WORK/edit0.png"
cat >"$WORK/spec.json" <<'EOF'
{"mode": "propagate", "video": "clip",
 "masks": [{"frame": 0, "image": "mask0", "weight": 0.85}],
 "keyframes": [{"frame": 0, "image": "edit0"}], "steps": 1, "seed": 7}
EOF
code=$(curl -sS -o "$WORK/job.json" -D "$WORK/headers" -w '%{http_code}' \
	-F "spec=<$WORK/spec.json;type=application/json" \
	-F "clip=@$WORK/clip.mp4;type=video/mp4" \
	-F "mask0=@$WORK/mask.png;type=image/png" \
	-F "edit0=@$WORK/edit0.png;type=image/png" \
	"$base/v1/jobs")
[ "$code" = 202 ] || fail "POST /v1/jobs: $code $(cat "$WORK/job.json")"
location=$(tr -d '\r' <"$WORK/headers" | awk 'tolower($1) == "location:" {print $2}')
id=$(json "$WORK/job.json" 'd["id"]')
echo "POST /v1/jobs: 202, Location $location"

start=$(date +%s)
while :; do
	curl -sS -f -o "$WORK/job.json" "$base$location" || fail "GET $location"
	status=$(json "$WORK/job.json" 'd["status"]')
	case "$status" in succeeded | failed | canceled) break ;; esac
	[ $(($(date +%s) - start)) -lt "$JOB_TIMEOUT" ] || fail "job $id still $status after ${JOB_TIMEOUT} s"
	sleep 0.5
done
[ "$status" = succeeded ] || fail "job $id $status: $(json "$WORK/job.json" 'd.get("error")')"
echo "job $id: succeeded in $(($(date +%s) - start)) s;" \
	"$(json "$WORK/job.json" '"frames %s/%s, fps %.1f, attention entropy %.3f" % (d["frames_done"], d["frames_total"], d["metrics"]["fps"], d["metrics"]["attention_entropy_mean"])')"

ctype=$(curl -sS -o "$WORK/out.mp4" -w '%{http_code} %{content_type}' "$base/v1/jobs/$id/output")
[ "$ctype" = "200 video/mp4" ] || fail "GET output: $ctype"
ffprobe -v error -count_frames -show_streams -show_format -of json "$WORK/out.mp4" >"$WORK/probe.json" \
	|| fail "ffprobe cannot read the output"
summary=$(json "$WORK/probe.json" '"; ".join("%s %s%s" % (s["codec_type"], s["codec_name"], " %sx%s %s frames" % (s["width"], s["height"], s["nb_read_frames"]) if s["codec_type"] == "video" else "") for s in d["streams"])')
echo "output: $(stat -c %s "$WORK/out.mp4") bytes: $summary"
json "$WORK/probe.json" '[s for s in d["streams"] if s["codec_type"] == "video"][0]' >/dev/null
check=$(json "$WORK/probe.json" '(lambda v, a: v["codec_name"] == "h264" and (v["width"], v["height"]) == (160, 96) and v["nb_read_frames"] == "24" and len(a) == 1)([s for s in d["streams"] if s["codec_type"] == "video"][0], [s for s in d["streams"] if s["codec_type"] == "audio"])')
[ "$check" = True ] || fail "output is not a 160x96 H.264 clip of 24 frames with its audio: $summary"

log "SIGTERM to the server (pid $pid)"
kill -TERM "$pid"
start=$(date +%s)
while kill -0 "$RUN_PID" 2>/dev/null; do
	[ $(($(date +%s) - start)) -lt "$STOP_TIMEOUT" ] || fail "server still running ${STOP_TIMEOUT} s after SIGTERM"
	sleep 0.2
done
rc=0
wait "$RUN_PID" || rc=$?
RUN_PID=""
grep -q '"stopped"' "$WORK/server.log" || grep -q 'clean shutdown' "$WORK/server.log" \
	|| fail "no clean-shutdown line in the server log"
[ "$rc" = 0 ] || fail "server exited $rc after SIGTERM"
echo "server exited 0 after SIGTERM in $(($(date +%s) - start)) s"
echo "smoke: PASS ($IMAGE)"
