#!/usr/bin/env bash
# Get this machine ready for the docker backend, step by step, saying which step failed.
#
#   sandbox/prepare-machine.sh [--with-tests]
#
# Steps: the system packages (sandbox/system-packages.sh: engine, bootstrap, local; plus
# test with --with-tests), a Docker engine (sandbox/engine.sh start), the offline stand-in
# base images (sandbox/bootstrap-base-images.sh). Each step prints its time.
#
# Exit codes, so callers can choose a backend honestly:
#   0  the docker backend is ready
#   3  no Docker engine can run here (the engine step failed): the local backend is the fallback
#   1  an engine runs, but a later step failed: fix that step; falling back would hide it
set -uo pipefail
cd "$(dirname "$0")/.."

groups=(engine bootstrap local)
case "${1:-}" in
  --with-tests) groups+=(test) ;;
  "") ;;
  *) echo "usage: $0 [--with-tests]" >&2; exit 2 ;;
esac

step() {  # step NAME COMMAND...: run it, print its time, return its status
  local name=$1 t0=$SECONDS status
  shift
  printf '== %s\n' "$name"
  "$@"
  status=$?
  printf '== %s: %s in %d s\n' "$name" "$([ "$status" = 0 ] && echo done || echo "FAILED (exit $status)")" \
    "$((SECONDS - t0))"
  return "$status"
}

if [ "$(id -u)" = 0 ]; then
  # Packages first: a missing debootstrap must be installed, not discovered after the engine.
  step "system packages (${groups[*]})" bash sandbox/system-packages.sh install "${groups[@]}" \
    || echo "prepare: some system packages could not be installed; the steps below say what that breaks"
else
  bash sandbox/system-packages.sh check "${groups[@]}" || true
fi

if ! step "docker engine" bash sandbox/engine.sh start; then
  echo "prepare: no Docker engine could be started (step: docker engine, see above)."
  echo "prepare: the local backend can grade instead; for the docker backend run as root on a machine with apt, or point DOCKER_HOST at an engine."
  exit 3
fi
if ! step "offline base images" bash sandbox/bootstrap-base-images.sh; then
  echo "prepare: the Docker engine runs, but the offline base images could not be built (step: offline base images, see above)."
  echo "prepare: fix that step and run this again (sandbox/bootstrap-base-images.sh as root); not falling back to the local backend, which would hide it."
  exit 1
fi
echo "prepare: the docker backend is ready"
