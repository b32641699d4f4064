// The guest contract, host side: one boot's console and how its VM ended
// become a BootRecord (per-trial outcomes and the boot's outcome).
//
// Results count only when the console kept the contract the command line set
// up (run/contract.h): /init started, ran the test (exec marker), the test's
// plan equals the trials requested, its results are numbered 1..planned in
// increasing order, and it exited with status 0 (the exit marker). Anything
// else is an infrastructure error whose detail says what was broken, and its
// results do not count (they are kept in the record as infra, with the
// reason). A boot that the host stopped, that hung, timed out or filled its
// console cap before the test finished keeps the results that arrived in
// order before that; a kernel crash wins over everything.
#pragma once
#include <string_view>

#include "console/console_report.h"
#include "record/records.h"
#include "vm/backend.h"

namespace rb::run {

using record::BootRecord;

// Classifies one boot from its parsed console (parsed with `contract`).
BootRecord classify_boot(const console::ConsoleReport& report, vm::BootEnd end, const console::Contract& contract);
// The same from console text.
BootRecord classify_console(std::string_view console, vm::BootEnd end, const console::Contract& contract);
// The same from the boot's console file, read from its start (at most
// spec.console_cap bytes), against the contract spec.cmdline set up.
BootRecord classify_boot_file(const vm::BootSpec& spec, vm::BootEnd end);

}  // namespace rb::run
