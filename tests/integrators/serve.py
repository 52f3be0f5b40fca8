"""Start a `finapi-conformance serve` process for the integrator checks, and stop it again.

The server binds 127.0.0.1 on a free port and prints "finAPI mock listening on URL" once it
accepts connections, so reading that first line is the readiness check (no sleeping).
"""

import os
import subprocess
import sys
from contextlib import contextmanager

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# The demo world (src/world.rs, `demo`): mandator `legacy` is bound to V1.
V1_APP_CLIENT = ("legacy-app-1", "legacy-app-1-secret-0000000000000000")
V1_USER = ("victor", "victor-password")
V2_APP_CLIENT = ("demo-app-1", "demo-app-1-secret-000000000000000000")
V2_USER = ("alice", "alice-password")
V2_ADMIN_CLIENT = ("demo-admin", "demo-admin-secret-000000000000000000")


def binary():
    """The built binary: $FINAPI_CONFORMANCE_BIN, else $CARGO_TARGET_DIR (or target)/debug."""
    explicit = os.environ.get("FINAPI_CONFORMANCE_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.path.join(target, "debug", "finapi-conformance")


@contextmanager
def served(extra_args=()):
    """Yield the base URL of a fresh `serve` process; the process ends with the block."""
    proc = subprocess.Popen(
        [binary(), "serve", "--addr", "127.0.0.1:0", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = proc.stdout.readline().strip()
        prefix = "finAPI mock listening on "
        if not first.startswith(prefix):
            raise RuntimeError(f"serve did not start: {first!r} (exit {proc.poll()})")
        yield first[len(prefix):]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)
