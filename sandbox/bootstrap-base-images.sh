#!/usr/bin/env bash
# Build offline stand-ins for the python:* base images candidates' Dockerfiles start FROM.
#
# No container registry is reachable here, so `FROM python:3.11-slim` would fail. This
# script debootstraps a Debian rootfs from the machine's own apt mirror, imports it as
# churn-grader/<suite>-base, builds a python image on it with the legacy builder
# (churn-grader/python-standin:<version>-py<X.Y>): Debian's python3 in a venv at
# /usr/local, as in the official image. Labels record that it is a stand-in and the python
# really inside, so reports can say a stand-in was used. A real (non-stand-in) image is
# never retagged.
#
# One stand-in per Debian release the mirror serves; every python:<X.Y> tag maps to one
# (grader/engine/standins.py holds the same rule; a test checks they agree):
#   3.7, 3.8, 3.9 -> 3.9  (bullseye)  the oldest release still served (buster is gone);
#                                     3.7/3.8 code runs on 3.9
#   3.10, 3.11, 3.12 -> 3.11 (bookworm)  no release ships 3.10 or 3.12. 3.10 code runs on
#                                     3.11 (FastAPI evaluates `int | None` annotations at
#                                     runtime, which 3.9 cannot); 2024-era pins for 3.12
#                                     (numpy 1.26, pandas 2.2.2) have no cp313 wheels, so
#                                     3.11 is the safer neighbour
#   3.13 and later -> 3.13 (trixie)   the newest stable release; forky/sid move daily
#   no version (python:3, latest, slim) -> 3.11, the default
# Alpine tags get the Debian stand-in of their version (an `apk` step then fails: the
# grader records that failure as its environment's, not the candidate's).
#
# The default run builds only bookworm's 3.11 (the runner image and most candidates use
# it) and tags the names in STANDIN_TAGS; the other stand-ins are built on first use,
# when the grader meets a Dockerfile that asks for them (--python X.Y), and the grader
# tags the exact name a Dockerfile uses before building it. One flock serialises builds:
# a second bootstrap waits, then finds the image built.
#
# The machine's intercepting-proxy CA certificates are baked in, so pip inside a build
# works. Re-running is cheap: a current stand-in is only re-tagged, and the rootfs
# tarball is cached per suite under $CACHE_DIR keyed by this version, the mirrors and the
# certs.
#
#   sandbox/bootstrap-base-images.sh               # build or confirm the 3.11 stand-in and its names
#   sandbox/bootstrap-base-images.sh --python 3.9  # build or confirm the stand-in for 3.9 (no names tagged)
#   sandbox/bootstrap-base-images.sh --print-tags  # the python:* names the default run tags
#   sandbox/bootstrap-base-images.sh --print-pythons  # "X.Y suite" per stand-in
#   sandbox/bootstrap-base-images.sh --print-version
set -euo pipefail

# Bump when the image recipe below changes: stand-ins of another version get rebuilt.
BOOTSTRAP_VERSION=1
# The python each stand-in holds -> the Debian release that ships it (see the header).
declare -A PYTHON_SUITES=([3.9]=bullseye [3.11]=bookworm [3.13]=trixie)
PYTHONS=(3.9 3.11 3.13)
DEFAULT_PYTHON=3.11
PRIMARY_TAG=python:3.11-slim
# The names the default run tags (all 3.11 by the rule above); the grader tags others on use.
STANDIN_TAGS=(
  python:3.11-slim python:3.11 python:3.11-slim-bookworm python:3.11-bookworm
  python:3.10-slim python:3.10 python:3.12-slim python:3.12
  python:3-slim python:slim python:latest
)
CACHE_DIR=${CHURN_GRADER_CACHE_DIR:-/var/cache/churn-grader}
HOST_CERTS_DIR=/usr/local/share/ca-certificates
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
LABEL_STANDIN=org.churn-grader.standin
LABEL_VERSION=org.churn-grader.bootstrap-version
LABEL_KEY=org.churn-grader.bootstrap-key
LABEL_PYTHON=org.churn-grader.python-version
# BuildKit (buildx) is not installed here; the legacy builder is.
export DOCKER_BUILDKIT=0

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() {
  docker image inspect --format "{{with .Config.Labels}}{{index . \"$2\"}}{{end}}" "$1" 2>/dev/null || true
}
image_mb() {
  docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'
}

# First http(s) URI the machine's apt sources use for SUITE (one-line and deb822 files).
apt_uri_for_suite() {
  local suite=$1 found="" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    found+=$(awk -v s="$suite" '
      /^[[:space:]]*#/ { next }
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) print $i
      }' "$f")$'\n'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    found+=$(awk -v s="$suite" '
      function flush() {
        if (deb && enabled && uri != "" && (suites " ") ~ (" " s " ")) print uri
        deb = 0; enabled = 1; uri = ""; suites = ""
      }
      BEGIN { enabled = 1 }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { suites = ""; for (i = 2; i <= NF; i++) suites = suites " " $i }
      tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
      END { flush() }' "$f")$'\n'
  done
  printf '%s\n' "$found" | grep -E '^https?://' | head -n1 | sed 's:/*$::' || true
}

# The host's own release's mirror: where a suite the apt sources do not list is fetched from.
host_release_uri() {
  local codename=""
  if [ -r /etc/os-release ]; then codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}"); fi
  if [ -n "$codename" ]; then apt_uri_for_suite "${codename}${1:-}"; fi
}

# Retag every name in STANDIN_TAGS to the stand-in, except names a real image holds.
# Only the default (3.11) run tags names; the grader tags the others when a Dockerfile uses them.
tag_standins() {
  local tag tagged=0 kept=()
  [ "$TAG_NAMES" = 1 ] || return 0
  for tag in "${STANDIN_TAGS[@]}"; do
    if image_exists "$tag" && [ "$(image_label "$tag" "$LABEL_STANDIN")" != 1 ]; then
      kept+=("$tag")
      continue
    fi
    docker tag "$STANDIN_IMAGE" "$tag"
    tagged=$((tagged + 1))
  done
  say "$tagged python:* names point to the stand-in $STANDIN_IMAGE (python $(image_label "$STANDIN_IMAGE" "$LABEL_PYTHON"))"
  if [ "${#kept[@]}" -gt 0 ]; then say "left alone, real images hold: ${kept[*]}"; fi
}

# Exits 0 (cached) when nothing needs building.
exit_if_cached() {
  if [ "$TAG_NAMES" = 1 ] && image_exists "$PRIMARY_TAG" && [ "$(image_label "$PRIMARY_TAG" "$LABEL_STANDIN")" != 1 ]; then
    say "$PRIMARY_TAG is a real image: nothing to bootstrap (cached)"
    exit 0
  fi
  if image_exists "$STANDIN_IMAGE" && [ "$(image_label "$STANDIN_IMAGE" "$LABEL_KEY")" = "$BOOTSTRAP_KEY" ]; then
    tag_standins
    say "python $PYTHON stand-in $STANDIN_IMAGE ($SUITE) is current: cached, nothing built in $(since "$T_START")"
    exit 0
  fi
}

WORK=""
cleanup() {
  [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
  # debootstrap can leave /proc or /sys mounted inside a rootfs it failed to finish.
  awk -v p="$WORK/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mnt; do
    umount -l "$mnt" || true
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
# Without these, bash carries on after a signal that the running child (debootstrap)
# survives; with them it exits once that child returns, and cleanup still runs.
trap 'exit 130' INT
trap 'exit 143' TERM

build_rootfs_tarball() {
  if [ -s "$ROOTFS_TARBALL" ]; then
    say "rootfs cached: $ROOTFS_TARBALL"
    return 0
  fi
  local t0 rootfs=$WORK/rootfs
  t0=$(now)
  say "debootstrap $SUITE (minbase) from $MIRROR; log $WORK/debootstrap.log"
  if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (see above); is $MIRROR reachable?"
  fi
  say "debootstrap done in $(since "$t0")"

  if [ "${#HOST_CERTS[@]}" -gt 0 ]; then install -m 0644 "${HOST_CERTS[@]}" "$rootfs/usr/local/share/ca-certificates/"; fi
  chroot "$rootfs" update-ca-certificates >"$WORK/update-ca-certificates.log" 2>&1 \
    || { cat "$WORK/update-ca-certificates.log" >&2; die "update-ca-certificates failed in the rootfs"; }

  # Trixie's debian-archive-keyring ships .pgp keyrings, earlier releases .gpg ones.
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -e "$rootfs$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.pgp
  [ -e "$rootfs$keyring" ] || die "no Debian archive keyring in the $SUITE rootfs"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: $keyring

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: $keyring
EOF
  # What debian:bookworm-slim (under the official python:*-slim) does: no docs, man pages,
  # locales or apt caches, also for whatever a candidate's Dockerfile apt-installs.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,groff,info,lintian}/* \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

  mkdir -p "$CACHE_DIR"
  tar --numeric-owner -C "$rootfs" -cf "$ROOTFS_TARBALL.partial" .
  mv "$ROOTFS_TARBALL.partial" "$ROOTFS_TARBALL"
  say "rootfs tarball $ROOTFS_TARBALL ($(du -m "$ROOTFS_TARBALL" | cut -f1) MB) in $(since "$t0")"
}

import_base_image() {
  if image_exists "$BASE_IMAGE" && [ "$(image_label "$BASE_IMAGE" "$LABEL_KEY")" = "$BOOTSTRAP_KEY" ]; then
    say "base image cached: $BASE_IMAGE"
    return 0
  fi
  local t0
  t0=$(now)
  docker import \
    --change "LABEL $LABEL_VERSION=$BOOTSTRAP_VERSION $LABEL_KEY=$BOOTSTRAP_KEY" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap $SUITE minbase from $MIRROR" \
    "$ROOTFS_TARBALL" "$BASE_IMAGE" >/dev/null
  say "imported $BASE_IMAGE ($(image_mb "$BASE_IMAGE")) in $(since "$t0")"
}

# A venv at /usr/local mirrors the official image's layout: /usr/local/bin/python, pip,
# and the console scripts pip installs (uvicorn) land there, and site-packages is
# /usr/local/lib/python3.11/site-packages, so multi-stage COPYs of it keep working.
build_standin_image() {
  local t0 context=$WORK/standin python_version
  t0=$(now)
  mkdir -p "$context"
  cat >"$context/Dockerfile" <<EOF
FROM $BASE_IMAGE
ARG DEBIAN_FRONTEND=noninteractive
ENV LANG=C.UTF-8 \\
    SSL_CERT_FILE=$CA_BUNDLE \\
    REQUESTS_CA_BUNDLE=$CA_BUNDLE \\
    PIP_CERT=$CA_BUNDLE \\
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update -q \\
 && apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip \\
 && rm -rf /var/lib/apt/lists/* \\
 && python3 -m venv /usr/local \\
 && /usr/local/bin/pip --version
ENV VIRTUAL_ENV=/usr/local \\
    PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL $LABEL_STANDIN=1 $LABEL_VERSION=$BOOTSTRAP_VERSION $LABEL_KEY=$BOOTSTRAP_KEY
WORKDIR /
CMD ["python3"]
EOF
  say "building the python stand-in on $BASE_IMAGE"
  docker build --network host --force-rm -t "$STANDIN_IMAGE-stage" "$context"
  python_version=$(docker run --rm --network none "$STANDIN_IMAGE-stage" \
    python -c 'import platform; print(platform.python_version())')
  case "$python_version" in
    "$PYTHON".*) ;;
    *) die "Debian $SUITE installed python $python_version, not $PYTHON: update PYTHON_SUITES" ;;
  esac
  # The python version is only known once installed, hence a second, metadata-only build.
  echo "FROM $STANDIN_IMAGE-stage" | docker build -q --label "$LABEL_PYTHON=$python_version" -t "$STANDIN_IMAGE" - >/dev/null
  docker rmi "$STANDIN_IMAGE-stage" >/dev/null
  say "built $STANDIN_IMAGE (python $python_version, $(image_mb "$STANDIN_IMAGE")) in $(since "$t0")"
}

usage() { echo "usage: $0 [--python X.Y|--print-tags|--print-pythons|--print-version]" >&2; exit 2; }
PYTHON=$DEFAULT_PYTHON
TAG_NAMES=1
case "${1:-}" in
  --print-tags) printf '%s\n' "${STANDIN_TAGS[@]}"; exit 0 ;;
  --print-pythons) for p in "${PYTHONS[@]}"; do echo "$p ${PYTHON_SUITES[$p]}"; done; exit 0 ;;
  --print-version) echo "$BOOTSTRAP_VERSION"; exit 0 ;;
  --python)
    [ $# = 2 ] || usage
    PYTHON=$2
    [ -n "${PYTHON_SUITES[$PYTHON]+x}" ] || die "no stand-in for python $PYTHON: --python takes one of ${PYTHONS[*]}"
    # Names are tagged by the grader on use, except in the default run.
    TAG_NAMES=0
    ;;
  "") ;;
  *) usage ;;
esac
[ $# -le 2 ] || usage
SUITE=${PYTHON_SUITES[$PYTHON]}
BASE_IMAGE=churn-grader/$SUITE-base:$BOOTSTRAP_VERSION
STANDIN_IMAGE=churn-grader/python-standin:$BOOTSTRAP_VERSION-py$PYTHON

T_START=$(now)
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  die "no Docker engine answers at ${DOCKER_HOST:-the default socket}: run sandbox/engine.sh start"
fi

# The sources usually list only the host's own release; its mirror serves the others too.
MIRROR=$(apt_uri_for_suite "$SUITE")
MIRROR=${MIRROR:-$(host_release_uri)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=$(apt_uri_for_suite "$SUITE-security")
SECURITY_MIRROR=${SECURITY_MIRROR:-$(host_release_uri -security)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
shopt -s nullglob
HOST_CERTS=("$HOST_CERTS_DIR"/*.crt)
shopt -u nullglob
# The key changes whenever what is baked into the rootfs would: recipe, mirrors, certs.
BOOTSTRAP_KEY=$(
  {
    echo "$BOOTSTRAP_VERSION $SUITE $MIRROR $SECURITY_MIRROR"
    if [ "${#HOST_CERTS[@]}" -gt 0 ]; then cat "${HOST_CERTS[@]}"; fi
  } | sha256sum | cut -c1-16
)
ROOTFS_TARBALL=$CACHE_DIR/rootfs-$SUITE-minbase-v$BOOTSTRAP_VERSION-$BOOTSTRAP_KEY.tar

exit_if_cached

[ "$(id -u)" = 0 ] || die "building the stand-ins needs root (debootstrap, chroot): run as root"
for tool in debootstrap chroot flock; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: apt-get install debootstrap"
done
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/bootstrap.lock"
if ! flock -n 9; then
  say "another bootstrap runs; waiting for it"
  flock 9
  exit_if_cached
fi

WORK=$(mktemp -d "$CACHE_DIR/work.XXXXXX")
say "building the python $PYTHON stand-in on Debian $SUITE, version $BOOTSTRAP_VERSION (key $BOOTSTRAP_KEY)"
build_rootfs_tarball
import_base_image
build_standin_image
tag_standins
say "python $PYTHON stand-in done in $(since "$T_START"): $BASE_IMAGE $(image_mb "$BASE_IMAGE"), $STANDIN_IMAGE $(image_mb "$STANDIN_IMAGE")"
