#include "run/classify.h"

#include "console/console_report.h"

namespace rb::run {

using record::Outcome;
using record::TrialRecord;

BootRecord classify_boot(std::string_view console_text, vm::BootEnd end, int planned) {
  console::ConsoleReport rep = console::parse_console(console_text);
  BootRecord b;
  b.end = end;
  b.planned = planned;
  long guest_ms = 0;
  for (const auto& t : rep.trials) {
    TrialRecord r;
    r.number = t.number;
    r.events = t.get_int("events", 0);
    r.bogus = t.get_int("bogus", 0);
    r.toggles = t.get_int("toggles", 0);
    r.reads = t.get_int("reads", 0);
    r.ms = t.get_int("ms", 0);
    r.first_bogus_ms = t.get_int("first_bogus_ms", -1);
    switch (t.status) {
      case console::TrialStatus::Pass: r.outcome = Outcome::Pass; break;
      case console::TrialStatus::Fail: r.outcome = Outcome::Fail; break;
      default: r.outcome = Outcome::Infra; r.reason = t.reason; break;
    }
    if (r.outcome == Outcome::Fail && !b.first_failure_s)
      b.first_failure_s = (guest_ms + (r.first_bogus_ms >= 0 ? r.first_bogus_ms : r.ms)) / 1000.0;
    guest_ms += r.ms;
    b.trials.push_back(std::move(r));
  }
  // The boot as a whole. A crash wins over everything: the trial running at
  // that moment has no result line, so it is not counted as pass or fail.
  if (!rep.crashes.empty()) {
    const auto& c = rep.crashes.front();
    b.outcome = c.kind == console::CrashKind::BootPanic && !rep.init_started ? Outcome::BootFailure : Outcome::Crash;
    b.detail = c.title;
  } else if (!rep.init_started) {
    b.outcome = end == vm::BootEnd::LaunchError ? Outcome::Infra : Outcome::BootFailure;
    b.detail = "the guest never reached /init (" + std::string(vm::to_string(end)) + ")";
  } else if (!rep.init_errors.empty()) {
    b.outcome = Outcome::Infra;
    b.detail = rep.init_errors.front();
  } else if (end == vm::BootEnd::NoOutput) {
    b.outcome = Outcome::Hang;
    b.detail = "console silent; VM killed";
  } else if (end == vm::BootEnd::Timeout) {
    b.outcome = Outcome::Timeout;
    b.detail = "hard timeout; VM killed";
  } else if (end == vm::BootEnd::Exited && !rep.exit_status) {
    b.outcome = Outcome::BootFailure;
    b.detail = "guest ended without the test's exit marker";
  } else {
    b.outcome = b.fails() ? Outcome::Fail : b.infra() ? Outcome::Infra : Outcome::Pass;
    if (b.infra()) b.detail = b.trials.back().reason;
  }
  return b;
}

}  // namespace rb::run
