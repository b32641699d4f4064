#!/bin/sh
# The initramfs's binaries start at every boot, under TCG, where every code
# page a process runs is translated afresh: they carry no debug info (a
# bigger cpio to load and unpack) and no iostreams (a static binary that
# uses them runs the C++ locale set-up at start). Measured: `Run /init` to
# the test's KTAP header 157 ms -> 116 ms (docs/PERFORMANCE.md, "The
# initramfs's own start").
# Usage: guest_binaries_lean_test.sh BINARY...
set -u
fail=0
for bin in "$@"; do
  if readelf -S "$bin" | grep -q '\.debug_'; then
    echo "FAIL $bin: has debug sections (link it with -s)"; fail=1
  fi
  # The typeinfo names of the stream classes, present once anything uses them.
  if grep -aqE 'basic_(if|of|f)stream|basic_filebuf|basic_(i|o)?stringstream' "$bin"; then
    echo "FAIL $bin: links iostreams"; fail=1
  fi
done
[ "$fail" = 0 ] && echo "ok: $# binaries lean"
exit "$fail"
