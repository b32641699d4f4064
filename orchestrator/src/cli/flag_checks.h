// Every flag of every subcommand checked in one table right after parsing,
// before any command runs: numbers in range, probabilities in (0, 1),
// output paths writable and of the right kind, names and guest arguments
// restricted (util/validate.h), and parallel VMs x guest RAM against the
// host's memory. Bad input exits at once, naming the flag and the value.
//
// Checks that need values resolved from the case file as well (the
// effective guest RAM, the default number of VM slots, labels from the
// case) belong where case and flags are merged; see docs/BAD_INPUT.md.
#pragma once
#include <CLI/CLI.hpp>

namespace rb::cli {

// 0 if every flag given is acceptable; otherwise prints
// "racebisect: error: <message>" to stderr and returns the subcommand's
// bad-input exit code (2; 128 for bisect-step, which git bisect run must
// not mistake for "bad").
int check_flags(const CLI::App& app);

}  // namespace rb::cli
