// The guest contract, host side: what racebisect puts on the kernel command
// line for one boot, and what it then expects to read on the console. The
// expectation is derived from the command line itself, so what the guest was
// told and what the host checks can never disagree.
//
//   rb.test=NAME           /init runs /bin/NAME ("none": just boot)
//   rb.args=k=v,k=v        the test's argv; trials=N is the count asked for
//   rb.nonce=HEX           fresh per boot; /init prefixes its markers with it
//
// See docs/ARCHITECTURE.md, "The guest contract".
#pragma once
#include <string>
#include <string_view>

#include "console/console_report.h"
#include "run/case.h"

namespace rb::run {

// 16 hex digits from the OS's random source.
std::string new_nonce();

// The kernel command line for one boot, with a fresh nonce. Throws
// rb::Error(Usage) naming a bad test name or argument (checked again here
// even though flags and case files were checked up front: this is the last
// point before the text reaches QEMU's -append).
std::string guest_cmdline(int hugepages, const std::string& test, const Args& args);
std::string guest_cmdline(int hugepages, const std::string& test, const Args& args, std::string_view nonce);

// The contract a command line sets up: its nonce, and the trials it asked
// for (0 for rb.test=none, unknown if it has no trials= argument).
console::Contract contract_for(std::string_view cmdline);

}  // namespace rb::run
