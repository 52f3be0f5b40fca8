#!/usr/bin/env bash
# Tests the finapi-conformance image as a team's CI would use it, with podman (CI runs it after
# container/build.sh). Each check prints one line; the script exits 1 at the first that fails.
#
#   - the image: under 30 MB, a fixed non-root user, no shell, OCI labels;
#   - no arguments and no control token: it refuses to start (no open control API); no
#     arguments with a token: it serves on 0.0.0.0:8080 and its HEALTHCHECK says healthy;
#   - serve in a container: healthy (its start-up time to a healthy /__finapi/health is printed),
#     the health check command, a finAPI client flow (client token, a new user, the journal
#     through the control token), running as non-root;
#   - check from a second container against the first: 0 violations (exit 0, JSON report written
#     to a mounted directory); against a mock with --violate admin-gets-user-token: exit 1;
#   - a world file mounted read-only is served;
#   - SIGTERM (podman stop) ends serve at once with exit 0.
#
# These machines need `--ulimit nofile=... --ulimit nproc=...` (runc cannot raise the limits
# here) and host networking (no port mapping); both are set below and harmless elsewhere.
# Usage: container/test.sh [IMAGE]   (default finapi-conformance:latest)
set -euo pipefail

image="${1:-finapi-conformance:latest}"
tool="${FINAPI_CONTAINER_TOOL:-podman}"
max_bytes=$((30 * 1000 * 1000))
token="ci-control-token-$RANDOM$RANDOM"
app_id=demo-app-1
app_secret=demo-app-1-secret-000000000000000000
run_flags=(--network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
work=$(mktemp -d)
names=()

cleanup() {
    for name in "${names[@]}"; do "$tool" rm -f "$name" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A free loopback port (the kernel picks it; the container binds it right after).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Start `serve` in a container named NAME on PORT (with `serve_args` and extra `run` flags);
# waits (bounded) until healthy and sets `startup_ms`, the milliseconds from `run` to the first
# healthy answer.
start_serve() {
    local name=$1 port=$2; shift 2
    names+=("$name")
    "$tool" rm -f "$name" >/dev/null 2>&1 || true
    local started; started=$(now_ms)
    "$tool" run -d --name "$name" "${run_flags[@]}" -e FINAPI_CONTROL_TOKEN="$token" \
        "$@" "$image" serve --addr "127.0.0.1:$port" "${serve_args[@]}" >/dev/null
    local deadline=$((started + 30000))
    until curl -fsS "http://127.0.0.1:$port/__finapi/health" >/dev/null 2>&1; do
        if [ "$(now_ms)" -gt "$deadline" ]; then
            "$tool" logs "$name" >&2 || true
            fail "$name did not become healthy on port $port within 30 s"
        fi
        if [ "$("$tool" inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != "true" ]; then
            "$tool" logs "$name" >&2 || true
            fail "$name exited before it was healthy"
        fi
    done
    startup_ms=$(( $(now_ms) - started ))
}

# --- the image itself -------------------------------------------------------------------------
size=$("$tool" image inspect "$image" --format '{{.Size}}')
[ "$size" -lt "$max_bytes" ] || fail "image is $size bytes, over $max_bytes"
pass "image size $((size / 1000)) kB (< 30 MB)"

user=$("$tool" image inspect "$image" --format '{{.Config.User}}')
[ "$user" = "10001:10001" ] || fail "image user is '$user', expected 10001:10001"
pass "image user $user"

for label in org.opencontainers.image.source org.opencontainers.image.version org.opencontainers.image.licenses; do
    value=$("$tool" image inspect "$image" --format "{{index .Config.Labels \"$label\"}}")
    [ -n "$value" ] && [ "$value" != "<no value>" ] || fail "label $label missing"
done
pass "labels: source, version, licences"

if "$tool" run --rm "${run_flags[@]}" --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1; then
    fail "the image has a shell"
fi
pass "no shell in the image"

# --- no arguments, no control token: it must not start with an open control API --------------
set +e
out=$("$tool" run --rm "${run_flags[@]}" "$image" 2>&1)
code=$?
set -e
[ "$code" -eq 2 ] || fail "no-argument run without FINAPI_CONTROL_TOKEN exited $code, expected 2: $out"
echo "$out" | grep -q "FINAPI_CONTROL_TOKEN" || fail "its message does not name FINAPI_CONTROL_TOKEN: $out"
pass "no arguments, no token: refused (exit 2): $(echo "$out" | tail -1)"

# --- serve --------------------------------------------------------------------------------------
# The image's default command (serve on 0.0.0.0:8080) with a token, where port 8080 is free.
if python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",8080))' 2>/dev/null; then
    names+=(fc-default)
    "$tool" rm -f fc-default >/dev/null 2>&1 || true
    "$tool" run -d --name fc-default "${run_flags[@]}" -e FINAPI_CONTROL_TOKEN="$token" "$image" >/dev/null
    deadline=$(( $(now_ms) + 30000 ))
    until curl -fsS http://127.0.0.1:8080/__finapi/health >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$deadline" ] || fail "the default command did not serve on port 8080 within 30 s"
    done
    "$tool" healthcheck run fc-default >/dev/null 2>&1 || fail "the image's HEALTHCHECK reports the default command unhealthy"
    "$tool" rm -f fc-default >/dev/null 2>&1
    pass "no arguments, with a token: serves on 0.0.0.0:8080, the image's HEALTHCHECK says healthy"
else
    echo "note: port 8080 is taken here, the default command's own port was not tried"
fi

serve_args=()
port=$(free_port)
base="http://127.0.0.1:$port"
start_serve fc-serve "$port" -e FINAPI_HEALTH_URL="$base/__finapi/health"
pass "serve healthy after ${startup_ms} ms"

"$tool" healthcheck run fc-serve >/dev/null 2>&1 || fail "the image's HEALTHCHECK (FINAPI_HEALTH_URL=$base/__finapi/health) says unhealthy"
health_cmd=$("$tool" exec fc-serve /usr/local/bin/finapi-conformance health 2>&1) \
    || fail "the health command failed: $health_cmd"
pass "HEALTHCHECK healthy; health command: $health_cmd"

pid=$("$tool" inspect -f '{{.State.Pid}}' fc-serve)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
[ "$uid" = 10001 ] || fail "serve runs as uid $uid"
pass "serve runs as uid $uid"

access=$(curl -fsS -X POST "$base/api/v2/oauth/token" -d grant_type=client_credentials \
    -d client_id="$app_id" -d client_secret="$app_secret" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$base/api/v2/users" \
    -H "Authorization: Bearer $access" -H 'Content-Type: application/json' \
    -d '{"id":"ci-user-1","password":"ci-user-1-password"}')
[ "$status" = 201 ] || fail "createUser answered $status"
entries=$(curl -fsS -H "Authorization: Bearer $token" \
    "$base/__finapi/journal?operation=createUser&caller_kind=app_client" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["entries"]) if isinstance(d,dict) else len(d))')
[ "$entries" -ge 1 ] || fail "the journal shows no createUser by an app client"
unauth=$(curl -sS -o /dev/null -w '%{http_code}' "$base/__finapi/journal")
[ "$unauth" = 401 ] || fail "the journal without the control token answered $unauth"
pass "client flow: token, createUser 201, journal shows it ($entries), journal without token $unauth"

# --- check from a second container --------------------------------------------------------------
chmod 0777 "$work"
check_env=(-e FINAPI_APP_CLIENT_ID="$app_id" -e FINAPI_APP_CLIENT_SECRET="$app_secret"
           -e FINAPI_APP_CLIENT2_ID=demo-app-2 -e FINAPI_APP_CLIENT2_SECRET=demo-app-2-secret-000000000000000000
           -e FINAPI_ADMIN_CLIENT_ID=demo-admin -e FINAPI_ADMIN_CLIENT_SECRET=demo-admin-secret-000000000000000000
           -e FINAPI_OTHER_APP_CLIENT_ID=other-app-1 -e FINAPI_OTHER_APP_CLIENT_SECRET=other-app-1-secret-00000000000000000)
set +e
"$tool" run --rm "${run_flags[@]}" "${check_env[@]}" -v "$work:/out" "$image" \
    check --base-url "$base" --rate 0 --format json --output /out/faithful.json >"$work/faithful.log" 2>&1
code=$?
set -e
[ "$code" -eq 0 ] || { cat "$work/faithful.log" >&2; fail "check against the faithful mock exited $code"; }
summary=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["violations"], s["total"])' "$work/faithful.json")
set -- $summary
[ "$1" = 0 ] || fail "check found $1 violations on the faithful mock"
pass "check from a second container: $2 checks, $1 violations, exit 0, report in the mounted directory"

# The target is named, not numbered: the image resolves names (nsswitch, the runtime's hosts).
serve_args=(--violate admin-gets-user-token)
broken_port=$(free_port)
start_serve fc-broken "$broken_port"
set +e
"$tool" run --rm "${run_flags[@]}" "${check_env[@]}" "$image" \
    check --base-url "http://localhost:$broken_port" --rate 0 --only user-tokens-via-app-clients >"$work/broken.log" 2>&1
code=$?
set -e
[ "$code" -eq 1 ] || { cat "$work/broken.log" >&2; fail "check against --violate admin-gets-user-token exited $code, expected 1"; }
pass "check against --violate admin-gets-user-token: exit 1 (its target named as localhost: the image resolves names)"

# --- a world file mounted read-only ---------------------------------------------------------------
cat >"$work/world.toml" <<'TOML'
[[mandators]]
id = "ci"
api_version = "v2"
admin_client = { id = "ci-admin", secret = "ci-admin-secret-0000000000000000000" }
app_clients = [{ id = "ci-app", secret = "ci-app-secret-00000000000000000000000" }]
users = [{ id = "ci-dora", password = "ci-dora-password" }]
TOML
chmod 0644 "$work/world.toml"
serve_args=(--world /world/world.toml)
world_port=$(free_port)
start_serve fc-world "$world_port" -v "$work/world.toml:/world/world.toml:ro"
user_token=$(curl -fsS -X POST "http://127.0.0.1:$world_port/api/v2/oauth/token" -d grant_type=password \
    -d client_id=ci-app -d client_secret=ci-app-secret-00000000000000000000000 \
    -d username=ci-dora -d password=ci-dora-password \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ -n "$user_token" ] || fail "no token for the mounted world's user"
demo_status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$world_port/api/v2/oauth/token" \
    -d grant_type=client_credentials -d client_id="$app_id" -d client_secret="$app_secret")
[ "$demo_status" = 401 ] || fail "the demo client still works on the mounted world ($demo_status)"
pass "world file mounted read-only: its user logs in, the demo client gets $demo_status"

# --- SIGTERM ------------------------------------------------------------------------------------
stop_started=$(now_ms)
"$tool" stop -t 10 fc-serve >/dev/null
stop_ms=$(( $(now_ms) - stop_started ))
code=$("$tool" inspect -f '{{.State.ExitCode}}' fc-serve)
[ "$code" = 0 ] || fail "serve exited $code on SIGTERM"
[ "$stop_ms" -lt 9000 ] || fail "serve took ${stop_ms} ms to stop (SIGTERM ignored, then killed)"
pass "SIGTERM: serve exited 0 after ${stop_ms} ms"

echo "container tests passed"
