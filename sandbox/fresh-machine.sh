#!/usr/bin/env bash
# The fresh-machine check: make this machine as new as the project can, then time the two
# commands a new user runs, from a clean clone of the committed HEAD.
#
#   sandbox/fresh-machine.sh [--yes] [--keep-clone]
#
# Removes (as root; destructive, so it asks unless --yes): the system packages
# sandbox/system-packages.sh installed on this machine (purged, with what they pulled in),
# the Docker engine's data (every image: stand-ins, runner images, requirement layers), the
# project's caches (/var/cache/churn-grader, /var/lib/churn-grader), root's pip cache and the
# engine's pid file and log. Packages the machine came with are left alone. Then, in a
# clone of HEAD (uncommitted changes are not in it): `make demo`, then `.ci/run` (CI's
# `make test`), printing and saving the time of each step to out/fresh-machine/timings.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
yes=0 keep_clone=0
for arg in "$@"; do
  case "$arg" in
    --yes) yes=1 ;;
    --keep-clone) keep_clone=1 ;;
    *) echo "usage: $0 [--yes] [--keep-clone]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-machine: run as root (it removes system packages)" >&2; exit 2; }
if [ "$yes" != 1 ]; then
  read -r -p "This removes Docker, every image, the project's caches and installed packages. Go on? [y/N] " answer
  [ "$answer" = y ] || [ "$answer" = Y ] || exit 1
fi

RESULTS=$REPO/out/fresh-machine
mkdir -p "$RESULTS"
TIMINGS=$RESULTS/timings.txt
: >"$TIMINGS"
record() { printf '%-34s %s\n' "$1" "$2" | tee -a "$TIMINGS"; }
timed() {  # timed NAME LOG COMMAND...: run, log, record time and status
  local name=$1 log=$2 t0=$SECONDS status
  shift 2
  echo "== $name (log: $log)"
  "$@" >"$log" 2>&1
  status=$?
  record "$name" "$((SECONDS - t0)) s, exit $status"
  return "$status"
}

echo "== removing what the project installed and cached"
installed=$(bash sandbox/system-packages.sh installed | tr '\n' ' ')
bash sandbox/engine.sh stop || true
pkill -x dockerd 2>/dev/null && sleep 3
pkill -x containerd 2>/dev/null || true
if [ -n "${installed// /}" ]; then
  echo "purging: $installed"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $installed >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null
fi
ip link delete docker0 2>/dev/null || true
rm -rf /var/lib/docker /var/lib/containerd /var/cache/churn-grader /var/lib/churn-grader \
  /run/churn-grader-dockerd.pid /var/log/churn-grader-dockerd.log /root/.cache/pip
for tool in dockerd debootstrap chromium; do
  if command -v "$tool" >/dev/null 2>&1; then echo "still here: $tool (the machine came with it)"; fi
done

CLONE=$(mktemp -d /tmp/churn-grader-fresh.XXXXXX)
git clone --quiet --no-local "$REPO" "$CLONE/repo" || { echo "clone failed" >&2; exit 1; }
cd "$CLONE/repo"
echo "clean clone of $(git rev-parse --short HEAD) in $PWD"
T0=$SECONDS
timed "make demo (cold machine)" "$RESULTS/demo.log" make demo
demo=$?
grep -E '^== ' "$RESULTS/demo.log" | tee -a "$TIMINGS"
timed "CI: .ci/run (make test)" "$RESULTS/test.log" bash .ci/run
tested=$?
grep -E '^== |passed|failed|error' "$RESULTS/test.log" | tail -n 8 | tee -a "$TIMINGS"
record "both, in all" "$((SECONDS - T0)) s"
cd "$REPO"
[ "$keep_clone" = 1 ] || rm -rf "$CLONE"
echo "timings: $TIMINGS"
[ "$demo" = 0 ] && [ "$tested" = 0 ]
