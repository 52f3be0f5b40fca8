#!/usr/bin/env bash
# Integrator checks against `serve`: finAPI's own 2019 V1 Python client (PyPI finapi 0.9.9),
# then Schemathesis with finAPI's V1 OpenAPI document. See README.md in this directory.
#
#   tests/integrators/run.sh [SPEC.yaml]
#
# Environment: FINAPI_V1_SPEC (the V1 document, if not given as argument), INTEGRATORS_VENV
# (default tests/integrators/.venv), INTEGRATORS_OUT (default tests/integrators/out),
# MAX_EXAMPLES (3), SEED (42), STRICT=1 (exit 1 when Schemathesis finds failures).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
spec=${1:-${FINAPI_V1_SPEC:-/work/shared/reference/finapi/finapi-access-v1-1.151.1-fastbill-go-finapi.yaml}}
venv=${INTEGRATORS_VENV:-$here/.venv}
out=${INTEGRATORS_OUT:-$here/out}

if [ ! -f "$spec" ]; then
    echo "run.sh: finAPI V1 OpenAPI document not found: $spec (pass it as the first argument)" >&2
    exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check finapi==0.9.9 schemathesis==4.32.5

(cd "$repo" && cargo build --locked --quiet)
# Run a private copy: a target directory shared with other checkouts may be rebuilt meanwhile.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "${CARGO_TARGET_DIR:-$repo/target}/debug/finapi-conformance" "$tmp/finapi-conformance"
export FINAPI_CONFORMANCE_BIN="$tmp/finapi-conformance"

mkdir -p "$out"
status=0
"$venv/bin/python" "$here/finapi_client.py" --json "$out/finapi_client.json" || status=1
strict=()
if [ "${STRICT:-0}" = 1 ]; then strict=(--fail-on-failures); fi
(cd "$out" && "$venv/bin/python" "$here/schemathesis_run.py" --spec "$spec" \
    --max-examples "${MAX_EXAMPLES:-3}" --seed "${SEED:-42}" \
    --json "$out/schemathesis.json" ${strict[@]+"${strict[@]}"}) || status=1
echo "details: $out/finapi_client.json, $out/schemathesis.json"
exit $status
