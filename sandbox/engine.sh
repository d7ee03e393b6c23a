#!/usr/bin/env bash
# Start, stop or report the Docker engine the grader's docker backend talks to.
#
# Made for machines without systemd: `start` runs dockerd by hand (overlay2; vfs is
# 3x slower and takes 6x the disk) and records its pid, so `stop` only ever stops an
# engine this script started. An engine that already answers is used as it is.
#
#   sandbox/engine.sh start    # exit 0 once `docker info` answers
#   sandbox/engine.sh stop     # stop the dockerd we started; no-op otherwise
#   sandbox/engine.sh status   # exit 0 if an engine answers, 1 if not
set -euo pipefail

PIDFILE=${CHURN_GRADER_DOCKERD_PIDFILE:-/run/churn-grader-dockerd.pid}
LOG=${CHURN_GRADER_DOCKERD_LOG:-/var/log/churn-grader-dockerd.log}
START_WAIT_SECONDS=${CHURN_GRADER_DOCKERD_WAIT:-30}
# dockerd gives running containers 15 s to stop before it exits.
STOP_WAIT_SECONDS=30
DEFAULT_HOST=unix:///var/run/docker.sock

say() { printf 'engine: %s\n' "$*"; }
die() { printf 'engine: error: %s\n' "$*" >&2; exit 1; }

engine_answers() {
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

describe_engine() {
  docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}' 2>/dev/null \
    || echo "server details unavailable"
}

# Prints the pid of the dockerd this script started, if it still runs; the comm check
# guards against a recycled pid.
our_pid() {
  [ -r "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
  echo "$pid"
}

log_tail() {
  echo "--- last lines of $LOG ---" >&2
  tail -n 25 "$LOG" >&2 2>/dev/null || echo "(no log)" >&2
}

install_engine() {
  bash "$(dirname "$0")/system-packages.sh" install engine || die "could not install the Docker engine (see above)"
}

wait_until_answers() {
  local pid=$1 waited=0
  while ! engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      log_tail
      die "dockerd (pid $pid) exited before it answered; see $LOG"
    fi
    if [ "$waited" -ge "$START_WAIT_SECONDS" ]; then
      log_tail
      kill -TERM "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
      die "dockerd (pid $pid) did not answer \`docker info\` within ${START_WAIT_SECONDS} s; stopped it; see $LOG"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

cmd_start() {
  if engine_answers; then
    say "an engine already answers at ${DOCKER_HOST:-$DEFAULT_HOST} ($(describe_engine)); nothing to do"
    return 0
  fi
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$DEFAULT_HOST" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine, or unset DOCKER_HOST to let this script start a local one"
  fi

  local pid
  if pid=$(our_pid); then
    say "the dockerd we started (pid $pid) runs but does not answer yet; waiting"
    wait_until_answers "$pid"
    say "answers ($(describe_engine))"
    return 0
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    die "a dockerd this script did not start runs (pid $(pgrep -x dockerd | tr '\n' ' ')) but does not answer; fix or stop it first"
  fi

  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1; then
    install_engine
  fi
  [ "$(id -u)" = 0 ] || die "starting dockerd needs root"

  mkdir -p "$(dirname "$LOG")" "$(dirname "$PIDFILE")"
  printf '\n=== %s: started by %s ===\n' "$(date -Is)" "$0" >>"$LOG"
  local t0=$SECONDS
  # setsid: the engine outlives this shell and ignores Ctrl-C sent to the caller's group.
  setsid dockerd --storage-driver=overlay2 </dev/null >>"$LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"
  wait_until_answers "$pid"
  say "started dockerd (pid $pid, log $LOG) in $((SECONDS - t0)) s: $(describe_engine)"
}

cmd_stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PIDFILE"
    say "no dockerd started by this script runs; nothing to stop"
    return 0
  fi
  say "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$STOP_WAIT_SECONDS" ]; then
      say "dockerd did not exit within ${STOP_WAIT_SECONDS} s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
  say "stopped"
}

cmd_status() {
  local pid started="no"
  if pid=$(our_pid); then started="yes (pid $pid, log $LOG)"; fi
  if engine_answers; then
    say "answers at ${DOCKER_HOST:-$DEFAULT_HOST} ($(describe_engine)); started by this script: $started"
    return 0
  fi
  say "no engine answers at ${DOCKER_HOST:-$DEFAULT_HOST}; started by this script: $started; run: $0 start"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
