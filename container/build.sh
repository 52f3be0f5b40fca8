#!/usr/bin/env bash
# Builds the finapi-conformance container image and tags it finapi-conformance:latest (and
# finapi-conformance:VERSION): compiles the release binary, stages what the image holds in
# target/container/rootfs (the binary, the shared libraries it links, CA certificates and the
# name-service files), then builds ./Containerfile with podman, buildah or docker, whichever is
# installed (FINAPI_CONTAINER_TOOL=... picks one).
#
# Usage: container/build.sh [--no-cargo]    (--no-cargo: use the release binary already built)
set -euo pipefail
cd "$(dirname "$0")/.."

image=finapi-conformance
build_binary=1
for arg in "$@"; do
    case "$arg" in
        --no-cargo) build_binary=0 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

tool="${FINAPI_CONTAINER_TOOL:-}"
if [ -z "$tool" ]; then
    for candidate in podman buildah docker; do
        if command -v "$candidate" >/dev/null 2>&1; then tool=$candidate; break; fi
    done
fi
if [ -z "$tool" ] || ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: no container tool found: install podman, buildah or docker (or set FINAPI_CONTAINER_TOOL)" >&2
    exit 2
fi

ca_bundle=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$ca_bundle" ]; then
    echo "error: $ca_bundle is missing: install the ca-certificates package (the image's CA store for https targets)" >&2
    exit 2
fi

if [ "$build_binary" = 1 ]; then
    cargo build --release --locked --bin finapi-conformance
fi
target_dir="${CARGO_TARGET_DIR:-target}"
binary="$target_dir/release/finapi-conformance"
[ -x "$binary" ] || { echo "error: $binary not built (run without --no-cargo)" >&2; exit 2; }

context="$target_dir/container"
rootfs="$context/rootfs"
rm -rf "$context"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/work" "$rootfs/tmp"
cp Containerfile "$context/Containerfile"

# The binary without its symbol table (the image's largest file by far).
strip --strip-all -o "$rootfs/usr/local/bin/finapi-conformance" "$binary"

# The shared libraries it links (glibc's loader, libc, libm, libgcc_s, ...), at the same paths.
ldd "$binary" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
done

# CA certificates for https targets (check, proxy); name resolution through files then DNS
# (the runtime mounts /etc/hosts and /etc/resolv.conf); a passwd entry for the fixed user.
cp -L "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
printf 'root:x:0:0:root:/:/sbin/nologin\nfinapi:x:10001:10001:finapi-conformance:/work:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nfinapi:x:10001:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod 0777 "$rootfs/work"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
source_url=$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$source_url" ] || source_url=$(git remote get-url origin 2>/dev/null || true)
[ -n "$source_url" ] || source_url=$(sed -n 's/^documentation = "\(.*\)"/\1/p' Cargo.toml | head -1)

args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source_url"
      -t "$image:latest" -t "$image:$version" -f "$context/Containerfile")
case "$tool" in
    podman) podman build --format docker "${args[@]}" "$context" ;;
    buildah) buildah bud --format docker "${args[@]}" "$context" ;;
    *) "$tool" build "${args[@]}" "$context" ;;
esac
echo "built $image:latest ($image:$version) with $tool"
