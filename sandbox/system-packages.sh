#!/usr/bin/env bash
# The one list of system (Debian) packages the project needs on a machine, and the only
# place that installs them. Idempotent: installs only what is missing, with one
# `apt-get update`, and records what it installed so `sandbox/fresh-machine.sh` can
# remove exactly that again.
#
#   sandbox/system-packages.sh install GROUP...   # install what is missing (needs root)
#   sandbox/system-packages.sh check GROUP...     # exit 1 and name what is missing
#   sandbox/system-packages.sh list [GROUP...]    # print the packages, one a line
#   sandbox/system-packages.sh installed          # what this script installed on this machine
#
# Groups:
#   engine     the Docker engine run by hand (sandbox/engine.sh) and the per-bridge firewall
#   bootstrap  the offline stand-in base images (sandbox/bootstrap-base-images.sh)
#   local      the local backend: namespaces, private root, a system python with venv
#   test       what only the tests need (the report is rendered in headless Chromium)
set -euo pipefail

declare -A GROUP_PACKAGES=(
  [engine]="docker.io iptables"
  [bootstrap]="debootstrap"
  [local]="iproute2 util-linux python3 python3-venv"
  [test]="chromium"
)
# One command each package provides: how "missing" is decided without dpkg (a package may
# have come from elsewhere; what matters is that the tool is there).
declare -A PACKAGE_PROBE=(
  [docker.io]="dockerd"
  [iptables]="iptables"
  [debootstrap]="debootstrap"
  [iproute2]="ip"
  [util-linux]="unshare setpriv"
  [python3]="/usr/bin/python3"
  [python3-venv]="python3-venv"
  [chromium]="chromium"
)
STATE_DIR=${CHURN_GRADER_STATE_DIR:-/var/lib/churn-grader}
RECORD=$STATE_DIR/installed-packages

say() { printf 'system-packages: %s\n' "$*"; }
die() { printf 'system-packages: error: %s\n' "$*" >&2; exit 1; }

packages_of() {
  local group
  for group in "$@"; do
    [ -n "${GROUP_PACKAGES[$group]+x}" ] || die "unknown group '$group' (known: ${!GROUP_PACKAGES[*]})"
    printf '%s\n' ${GROUP_PACKAGES[$group]}
  done
}

present() {
  local package=$1 probe
  for probe in ${PACKAGE_PROBE[$package]}; do
    case "$probe" in
      python3-venv)
        # Debian's python3 without python3-venv fails at ensurepip, not at import.
        [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || return 1 ;;
      /*) [ -x "$probe" ] || return 1 ;;
      *) PATH="$PATH:/usr/sbin:/sbin" command -v "$probe" >/dev/null 2>&1 || return 1 ;;
    esac
  done
}

missing_of() {
  local package
  for package in $(packages_of "$@" | sort -u); do
    present "$package" || echo "$package"
  done
}

cmd_install() {
  [ "$#" -gt 0 ] || die "name at least one group: ${!GROUP_PACKAGES[*]}"
  local missing t0=$SECONDS
  mapfile -t missing < <(missing_of "$@")
  if [ "${#missing[@]}" -eq 0 ]; then
    say "$* : all present"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; installing needs root: run as root, or apt-get install ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not here: install them by hand"
  say "installing ${missing[*]} (for $*)"
  mkdir -p "$STATE_DIR"
  # apt's own lock serialises concurrent installs; wait for it rather than fail.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq \
    || die "apt-get update failed: is the machine's Debian mirror reachable?"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  printf '%s\n' "${missing[@]}" >>"$RECORD"
  sort -u -o "$RECORD" "$RECORD"
  local still
  still=$(missing_of "$@" | tr '\n' ' ')
  [ -z "$still" ] || die "installed, yet still missing: $still"
  say "installed ${missing[*]} in $((SECONDS - t0)) s"
}

cmd_check() {
  local missing
  missing=$(missing_of "$@" | tr '\n' ' ')
  if [ -n "$missing" ]; then
    say "missing: $missing(run: $0 install $*)"
    return 1
  fi
  say "$* : all present"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  check) shift; cmd_check "$@" ;;
  list) shift; if [ "$#" -eq 0 ]; then set -- "${!GROUP_PACKAGES[@]}"; fi; packages_of "$@" | sort -u ;;
  installed) cat "$RECORD" 2>/dev/null || true ;;
  *)
    echo "usage: $0 install|check|list GROUP... | installed   (groups: ${!GROUP_PACKAGES[*]})" >&2
    exit 2
    ;;
esac
