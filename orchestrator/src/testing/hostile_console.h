// Adversarial consoles for the guest contract: named rows (the table in
// docs/BAD_INPUT.md) and a random generator, each with what a correct host
// must make of it. Shared by the unit tests (in-process), the stand-in QEMU
// (testtools/fake_qemu.cc), the e2e test that runs the real binary through
// it, and bench/hostile_corpus.cc (>= 10,000 consoles).
//
// A script is console text with two extras, expanded by render() and by the
// stand-in QEMU while it streams (so a 70 MB console needs no 70 MB file):
//   "@INIT@"             -> this boot's marker prefix, "racebisect-init <nonce>:"
//                           ("racebisect-init:" when the command line has no nonce)
//   a line "@@repeat N TEXT" -> TEXT on N lines ("{n}" in TEXT becomes 1..N)
//   a line "@@sleep MS"      -> the stand-in QEMU pauses (hang rows)
//   a line "@@nonl TEXT"     -> TEXT without a line end (a cut console)
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "record/records.h"
#include "vm/backend.h"

namespace rb::testing {

struct Expected {
  record::Outcome outcome = record::Outcome::Infra;
  int passes = 0, fails = 0;  // trials that must count (all others: none may)
  std::string detail;         // a substring the boot's detail must contain ("" = any)
};

struct ScriptedConsole {
  std::string name;
  std::string script;
  int planned = 4;                          // trials the host asks for (boot --trials N)
  vm::BootEnd end = vm::BootEnd::Exited;    // how the VM ends when the script is played
  Expected want;
  bool huge = false;                        // tens of MB once rendered: stand-in QEMU only
  std::vector<std::string> boot_flags;      // extra `racebisect boot` flags this row needs
};

// The named rows of the guest-contract table.
std::vector<ScriptedConsole> contract_rows();
// One random console: a valid run (pass or fail) with benign noise, and
// with probability ~0.65 exactly one attack whose effect is known.
ScriptedConsole random_console(std::mt19937_64& rng);

// Streams a script with `nonce` substituted and directives expanded: `out`
// receives the bytes in pieces, `sleep_ms` is called for "@@sleep".
void play(std::string_view script, std::string_view nonce, const std::function<void(std::string_view)>& out,
          const std::function<void(int)>& sleep_ms = {});
// The whole rendered console (sleeps ignored).
std::string render(std::string_view script, std::string_view nonce);

// `racebisect boot`'s exit code for an outcome (cli/boot.cc).
int boot_exit_code(record::Outcome o);

}  // namespace rb::testing
