#!/usr/bin/env bash
# `make demo`: prepare the machine, then grade the reference cohort on fresh seeds.
#
# Settings come from the environment (the Makefile passes them): OUT, DEMO_CANDIDATE,
# DEMO_ROWS, DEMO_VARIANTS, DEMO_JOBS, DEMO_BACKEND (auto | docker | local). `auto` takes the
# docker backend, and the local one only when no Docker engine can run at all; a machine
# whose engine runs but whose base images fail stops here with the step that failed.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:=out/demo}" "${DEMO_CANDIDATE:=demo-candidate}" "${DEMO_ROWS:=30000}" "${DEMO_JOBS:=2}"
: "${DEMO_VARIANTS:=strong leaky minimal broken-serving}" "${DEMO_BACKEND:=auto}"
GRADER=.venv/bin/grader
T0=$SECONDS

started_engine=0
backend=$DEMO_BACKEND
if [ "$backend" != local ]; then
  bash sandbox/engine.sh status >/dev/null 2>&1 || started_engine=1
  set +e
  bash sandbox/prepare-machine.sh
  prepared=$?
  set -e
  if [ "$prepared" = 3 ] && [ "$backend" = auto ]; then
    echo "demo: grading with the local backend, since no Docker engine can run here (see the step above)"
    backend=local
    started_engine=0
  elif [ "$prepared" != 0 ]; then
    echo "demo: stopping: the machine is not ready for the docker backend (see the failed step above)" >&2
    exit 1
  else
    backend=docker
  fi
elif [ "$(id -u)" = 0 ]; then
  bash sandbox/system-packages.sh install local
fi
trap '[ "$started_engine" = 1 ] && bash sandbox/engine.sh stop || true' EXIT

rm -rf "$OUT"
mkdir -p "$OUT/submissions"
$GRADER packet "$DEMO_CANDIDATE" --demo-secret --out "$OUT/packet"
$GRADER key "$DEMO_CANDIDATE" --demo-secret --out "$OUT/key"
for variant in $DEMO_VARIANTS; do cp -r "reference/$variant" "$OUT/submissions/demo-$variant"; done
echo
echo "== grading the reference cohort ($DEMO_VARIANTS) on fresh seeds ($DEMO_ROWS rows, $backend backend, --jobs $DEMO_JOBS)"
t_grade=$SECONDS
$GRADER grade "$OUT/submissions" --demo-secret --rows "$DEMO_ROWS" --backend "$backend" --jobs "$DEMO_JOBS" \
  --out "$OUT/REPORTS"
echo "== grading: done in $((SECONDS - t_grade)) s; demo in all $((SECONDS - T0)) s"
echo
echo "packet (what the candidate gets): $OUT/packet"
echo "key (grader only):                 $OUT/key"
echo "evidence per submission:           $OUT/REPORTS/_graded/<candidate>/evidence.json"
echo "reports:                           $OUT/REPORTS/<candidate>/report.html"
echo "leaderboard:                       $OUT/REPORTS/leaderboard.html"
