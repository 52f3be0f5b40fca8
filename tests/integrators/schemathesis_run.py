"""Schemathesis with finAPI's V1 OpenAPI document against `serve`, once with a user token and
once with a client token; checks response_schema_conformance and status_code_conformance.
With `--webform2` the document is Web Form 2.0's (V2 tokens: a user's and the admin client's;
`serve` serves Web Form 2.0 on its own address).

Bounded and reproducible: a fixed seed, few examples per operation, one worker. Operations that
would end the run's own session (deleting the authorized user, revoking tokens) are left out.
Prints one line per token kind with the number of operations and of failures per check, and
writes the details as JSON (--json). Exit code 0 when it ran, whatever it found: the figures
are the result (use --fail-on-failures to make failures an error).

    python schemathesis_run.py --spec finapi-access-v1.yaml [--max-examples 3] [--seed 42]
    python schemathesis_run.py --webform2 --spec finapi-webform2-2.430.0.yaml
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

from serve import V1_APP_CLIENT, V1_USER, V2_ADMIN_CLIENT, V2_APP_CLIENT, V2_USER, log, served

CHECKS = "response_schema_conformance,status_code_conformance"
# Operations that would pull the ground from under the run (its user, its tokens).
EXCLUDED = ["deleteAuthorizedUser", "revokeToken", "deleteUnverifiedUser"]


def token(base, form, path="/oauth/token"):
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(
        f"{base}{path}",
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["access_token"]


def schemathesis_bin():
    here = os.path.dirname(sys.executable)
    candidate = os.path.join(here, "schemathesis")
    return candidate if os.path.exists(candidate) else "schemathesis"


def run_one(base, spec, bearer, args, workdir, label):
    report = os.path.join(workdir, f"{label}.ndjson")
    cmd = [
        schemathesis_bin(),
        "run",
        spec,
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {bearer}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        "1",
        "--phases",
        args.phases,
        "--mode",
        args.mode,
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "10",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        report,
        "--output-sanitize",
        "true",
    ]
    for op in EXCLUDED:
        cmd += ["--exclude-operation-id", op]
    log(f"[{label}] schemathesis run ... (seed {args.seed}, max-examples {args.max_examples})")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    tail = "\n".join(proc.stdout.strip().splitlines()[-12:])
    log(tail)
    return summarize(report, label, proc.returncode)


def summarize(path, label, code):
    """Operations tested, and per check the operations with at least one failing case, from
    schemathesis' NDJSON event stream (`ScenarioFinished` events)."""
    operations = set()
    failed_ops = collections.defaultdict(set)
    titles = collections.Counter()
    examples = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    event = json.loads(line).get("ScenarioFinished")
                except (json.JSONDecodeError, AttributeError):
                    continue
                if not event:
                    continue
                op = (event.get("recorder") or {}).get("label")
                if not op:
                    continue
                operations.add(op)
                for results in (event["recorder"].get("checks") or {}).values():
                    for check in results:
                        if check.get("status") != "failure":
                            continue
                        name = check.get("name")
                        failure = (check.get("failure_info") or {}).get("failure") or {}
                        if op not in failed_ops[name]:
                            failed_ops[name].add(op)
                            titles[f"{name}: {failure.get('title', '?')}"] += 1
                            examples[f"{name} {op}"] = (failure.get("message") or "")[:300]
    return {
        "label": label,
        "exit_code": code,
        "operations": len(operations),
        "failures": {k: len(v) for k, v in failed_ops.items()},
        "by_title": dict(titles),
        "failed_operations": {k: sorted(v) for k, v in failed_ops.items()},
        "examples": examples,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="finAPI V1 OpenAPI document (YAML)")
    parser.add_argument("--webform2", action="store_true",
                        help="the document is Web Form 2.0's: V2 user and admin client tokens")
    parser.add_argument("--url", help="base URL of a running serve (default: start one)")
    parser.add_argument("--max-examples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--mode", default="positive", choices=["positive", "negative", "all"])
    parser.add_argument("--json", help="write the summaries here")
    parser.add_argument("--fail-on-failures", action="store_true")
    parser.add_argument("--report-dir", help="keep schemathesis' NDJSON event streams here")
    args = parser.parse_args()
    spec = os.path.abspath(args.spec)

    def against(base):
        app_id, app_secret = V2_APP_CLIENT if args.webform2 else V1_APP_CLIENT
        user, password = V2_USER if args.webform2 else V1_USER
        path = "/api/v2/oauth/token" if args.webform2 else "/oauth/token"
        cred = {"client_id": app_id, "client_secret": app_secret}
        user_grant = {"grant_type": "password", "username": user, "password": password, **cred}
        if args.webform2:
            admin_id, admin_secret = V2_ADMIN_CLIENT
            admin = {"grant_type": "client_credentials", "client_id": admin_id, "client_secret": admin_secret}
            tokens = {"user": token(base, user_grant, path), "admin": token(base, admin, path)}
        else:
            tokens = {
                "user": token(base, user_grant, path),
                "client": token(base, {"grant_type": "client_credentials", **cred}, path),
            }
        if args.report_dir:
            os.makedirs(args.report_dir, exist_ok=True)
            return [run_one(base, spec, t, args, args.report_dir, label) for label, t in tokens.items()]
        with tempfile.TemporaryDirectory() as work:
            return [run_one(base, spec, t, args, work, label) for label, t in tokens.items()]

    if args.url:
        results = against(args.url)
    else:
        # A fresh process per run: the results do not depend on what ran before.
        with served() as base:
            results = against(base)
    total = 0
    for r in results:
        per_check = ", ".join(f"{k} {v}" for k, v in sorted(r["failures"].items())) or "none"
        total += sum(r["failures"].values())
        api = "Web Form 2.0" if args.webform2 else "V1"
        print(f"schemathesis {api} ({r['label']} token): {r['operations']} operations, "
              f"failing operations per check: {per_check}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 1 if (args.fail_on_failures and total) else 0


if __name__ == "__main__":
    sys.exit(main())
