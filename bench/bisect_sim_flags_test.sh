#!/usr/bin/env bash
# bisect_sim refuses a cell or method it does not know, before simulating
# anything (it used to run no cell and print "gate: PASS"), and a cell's
# label as --list prints it selects that one cell.
#   bisect_sim_flags_test.sh BISECT_SIM
set -uo pipefail
sim=$1
fail=0
refuses() {  # refuses WHAT ARGS...: exit 2, a message naming WHAT, nothing simulated
  local what=$1; shift
  local out rc
  out=$("$sim" --runs 1 "$@" 2>&1); rc=$?
  if [[ $rc != 2 || $out != *"\"$what\""* || $out == *runs=* ]]; then
    echo "FAIL: bisect_sim $* -> exit $rc, output: $out"; fail=1
  fi
}
refuses nonexistent --cells nonexistent
refuses 'matched n=64 rate=0.5' --cells 'matched n=64 rate=0.5'
refuses drivr --methods drivr
refuses lots --runs lots

out=$("$sim" --runs 2 --methods driver --cells 'matched n=64 rate=0.7' 2>&1); rc=$?
cells=$(grep -c ' runs, ' <<<"$out")
if [[ $rc != 0 || $cells != 1 || $out != *'matched n=64 rate=0.7 (2 runs'* ]]; then
  echo "FAIL: --cells LABEL ran $cells cells (exit $rc): $out"; fail=1
fi
exit $fail
