#!/usr/bin/env bash
# Install what the tests need, then run one tier of them:
#   tools/test.sh [TIER] [PYTEST ARGS...]
#     (none)      the default tier, what CI runs: everything that fits in 20 minutes
#     quick       enough to trust a change, in under 5 minutes
#     programs    the project's own whole programs (the demo, seed programs, Estimator tutorials) under run
#     zoo         the slim model zoo end to end at full size (VGG, Inception v1-v4, Inception-ResNet-v2, MobileNets)
#     corpus      the era's programs (tests/corpus), fetched on first use, each plain, under run and migrated (CI runs it after the default tier)
#     tfslim      tf-slim's own shipped test suite under slimcompat
#     first-hour  a clean clone's install path under a Python that refuses pip
#     all         every test
# GPU tests (marker gpu) run wherever PyTorch sees a GPU and are left out elsewhere (tests/conftest.py).
# Arguments after the tier go to pytest. Temporary files go to a folder removed at the end
# (KEEP_TMP=1 keeps it). Python: see tools/python.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# The one place a tier's selection is written; markers are declared in setup.cfg.
OUTSIDE_DEFAULT="not programs and not zoo and not corpus and not tfslim and not first_hour"
TIER=default
case "${1:-}" in
  quick|programs|zoo|corpus|tfslim|first-hour|all|default) TIER=$1; shift ;;
esac
case "$TIER" in
  default)    SELECT=("-m" "$OUTSIDE_DEFAULT") ;;
  quick)      SELECT=("-m" "$OUTSIDE_DEFAULT and not slow and not gpu") ;;
  programs)   SELECT=("-m" "programs") ;;
  zoo)        SELECT=("-m" "zoo") ;;
  corpus)     SELECT=("-m" "corpus") ;;
  tfslim)     SELECT=("-m" "tfslim") ;;
  first-hour) SELECT=("-m" "first_hour") ;;
  all)        SELECT=() ;;
esac
bash tools/install.sh --test
source tools/python.sh
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
BASETEMP=$(mktemp -d "${TMPDIR:-/tmp}/slimcompat-tests.XXXXXX")
cleanup() {
  if [ -n "${KEEP_TMP:-}" ]; then
    echo "test.sh: temporary files kept in $BASETEMP" >&2
  else
    rm -rf "$BASETEMP"
  fi
}
trap cleanup EXIT
start=$SECONDS
status=0
"$PY" -m pytest "${SELECT[@]}" --basetemp="$BASETEMP/pytest" --durations=15 "$@" || status=$?
echo "test.sh: tier $TIER: exit $status, $(du -sh "$BASETEMP" 2>/dev/null | cut -f1) of temporary files," \
     "$(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s wall"
exit "$status"
