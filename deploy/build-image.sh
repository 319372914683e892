#!/usr/bin/env bash
# Builds the maskattn image from the repository's Dockerfile without a Docker engine:
#
#   1. debootstraps Debian bookworm (minbase) from Debian's archive into a cache folder,
#      once, and derives a "slim" flavour of it (no docs, man pages or locales);
#   2. imports both as the Dockerfile's base images, docker.io/library/debian:bookworm
#      and docker.io/library/debian:bookworm-slim (only when the cached rootfs changed,
#      so buildah's layer cache stays valid across runs);
#   3. builds the Dockerfile with `buildah --storage-driver vfs bud --isolation chroot`
#      (docker format, so HEALTHCHECK and STOPSIGNAL are kept), never pulling;
#   4. prints the image's size.
#
# Usage: deploy/build-image.sh [CACHE_DIR]
#
# Environment:
#   MASKATTN_ROOTFS_CACHE  cache folder for the rootfs tarballs (CACHE_DIR wins;
#                          default ~/.cache/maskattn-rootfs)
#   MASKATTN_ROOTFS_REFRESH=1  debootstrap again even when the cache exists
#   MASKATTN_IMAGE         image name (default localhost/maskattn:latest)
#   MASKATTN_DEBIAN_MIRROR Debian archive (default http://deb.debian.org/debian)
#   MASKATTN_DEBIAN_SECURITY  security archive (default http://deb.debian.org/debian-security)
#   MASKATTN_BUILD_CONTEXT build context holding the Dockerfile (default: this repository;
#                          e.g. a `git archive` export of a commit, to build that commit)
#   ARCH_FLAGS             passed to the build as --build-arg (default: the Dockerfile's)
#
# Needs root (debootstrap, buildah's vfs store under /var/lib/containers). Missing tools
# (debootstrap, buildah) are installed with apt-get when run as root, like `make deps`.
set -euo pipefail
. "$(dirname "$0")/tools.sh"

cd "$(dirname "$0")/.."
CONTEXT=$(cd "${MASKATTN_BUILD_CONTEXT:-.}" && pwd)

CACHE=${1:-${MASKATTN_ROOTFS_CACHE:-${HOME:-/root}/.cache/maskattn-rootfs}}
IMAGE=${MASKATTN_IMAGE:-localhost/maskattn:latest}
MIRROR=${MASKATTN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${MASKATTN_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
SUITE=bookworm
BASE=docker.io/library/debian:$SUITE
SLIM=docker.io/library/debian:$SUITE-slim
LABEL=org.maskattn.rootfs-sha256
# Bump when make_rootfs/pack_rootfs/slim_rootfs change: a cache of another recipe is redone.
RECIPE=2

BUILDAH=(buildah --storage-driver vfs)

# Working containers this script made; removed on any exit.
CTRS=()
cleanup() {
	local c
	for c in "${CTRS[@]}"; do "${BUILDAH[@]}" rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'build-image: %s\n' "$*" >&2; exit 1; }

need_tools() {
	local missing=() t
	for t in debootstrap buildah; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing tools; run: sudo apt-get install -y ${missing[*]}"
	apt_install "${missing[@]}"
}

# Writes the apt sources, trims what a container does not need, and packs the tree.
# $1: rootfs folder, $2: output tarball.
pack_rootfs() {
	local root=$1 out=$2
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	# Like Debian's own container images: no package caches left in image layers, no
	# translations fetched.
	cat >"$root/etc/apt/apt.conf.d/90maskattn-container" <<'EOF'
// Container image: apt keeps no downloaded packages or binary caches.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
	# The engine provides these per container.
	rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
	: >"$root/etc/machine-id"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
		"$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/*
	tar --numeric-owner --xattrs -C "$root" \
		--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
		-cf "$out.tmp" .
	mv "$out.tmp" "$out"
}

# The slim flavour: dpkg keeps docs, man/info pages and translations out (copyright
# files stay), and the ones debootstrap installed are removed.
slim_rootfs() {
	local root=$1
	cat >"$root/etc/dpkg/dpkg.cfg.d/maskattn-slim" <<'EOF'
# Container image: no documentation or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
	find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* \
		"$root"/usr/share/lintian/* "$root"/usr/share/locale/*
}

make_rootfs() {
	local work="$CACHE/work"
	mkdir -p "$CACHE"
	if [ -f "$CACHE/$SUITE.tar" ] && [ -f "$CACHE/$SUITE-slim.tar" ] \
		&& [ "$(cat "$CACHE/recipe" 2>/dev/null)" = "$RECIPE" ] \
		&& [ "${MASKATTN_ROOTFS_REFRESH:-0}" != 1 ]; then
		log "rootfs: cached in $CACHE"
		return 0
	fi
	log "rootfs: debootstrap $SUITE (minbase) from $MIRROR into $work"
	rm -rf "$work"
	debootstrap --variant=minbase --components=main "$SUITE" "$work/rootfs" "$MIRROR" \
		>"$CACHE/debootstrap.log" 2>&1 || {
		tail -20 "$CACHE/debootstrap.log" >&2
		die "debootstrap failed (log: $CACHE/debootstrap.log)"
	}
	pack_rootfs "$work/rootfs" "$CACHE/$SUITE.tar"
	slim_rootfs "$work/rootfs"
	pack_rootfs "$work/rootfs" "$CACHE/$SUITE-slim.tar"
	echo "$RECIPE" >"$CACHE/recipe"
	rm -rf "$work"
}

# Imports tarball $1 as image $2, unless the image already holds that very tarball.
import_base() {
	local tarball=$1 name=$2 sum have ctr
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	have=$("${BUILDAH[@]}" inspect --type image \
		--format "{{index .OCIv1.Config.Labels \"$LABEL\"}}" "$name" 2>/dev/null || true)
	if [ "$have" = "$sum" ]; then
		log "base: $name is up to date"
		return 0
	fi
	log "base: importing $tarball as $name"
	ctr=$("${BUILDAH[@]}" from --pull=never scratch)
	CTRS+=("$ctr")
	"${BUILDAH[@]}" add "$ctr" "$tarball" / >/dev/null
	"${BUILDAH[@]}" config --os linux --arch "$(dpkg --print-architecture)" \
		--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--cmd '["bash"]' --label "$LABEL=$sum" "$ctr"
	"${BUILDAH[@]}" commit --quiet --rm --format docker "$ctr" "$name" >/dev/null
}

need_tools
make_rootfs
import_base "$CACHE/$SUITE.tar" "$BASE"
import_base "$CACHE/$SUITE-slim.tar" "$SLIM"

build_args=()
[ -n "${ARCH_FLAGS:-}" ] && build_args+=(--build-arg "ARCH_FLAGS=$ARCH_FLAGS")
old_id=$("${BUILDAH[@]}" images --noheading --no-trunc --format '{{.ID}}' "$IMAGE" 2>/dev/null | head -1 || true)
log "build: $IMAGE from $CONTEXT/Dockerfile"
start=$(date +%s)
"${BUILDAH[@]}" bud --isolation chroot --format docker --pull=never --layers --force-rm \
	"${build_args[@]}" -t "$IMAGE" -f "$CONTEXT/Dockerfile" "$CONTEXT"
log "build: $(($(date +%s) - start)) s"

# The image this build replaced is only a full vfs copy now: drop it (unless in use).
new_id=$("${BUILDAH[@]}" images --noheading --no-trunc --format '{{.ID}}' "$IMAGE" | head -1)
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
	"${BUILDAH[@]}" rmi "$old_id" >/dev/null 2>&1 || true
fi
id=$("${BUILDAH[@]}" images --noheading --format '{{.ID}}' "$IMAGE" | head -1)
size=$("${BUILDAH[@]}" images --noheading --format '{{.Size}}' "$IMAGE" | head -1)
base=$("${BUILDAH[@]}" images --noheading --format '{{.Size}}' "$SLIM" | head -1)
echo "image $IMAGE ($id): size $size; base $SLIM: $base"
