#include "run/classify.h"

#include "run/contract.h"

namespace rb::run {

using record::Outcome;
using record::TrialRecord;

namespace {

struct Verdict {
  Outcome outcome = Outcome::Infra;
  std::string detail;
  bool results_count = true;  // false: the boot broke the contract, its results are void
};

std::vector<TrialRecord> trial_records(const console::ConsoleReport& rep) {
  std::vector<TrialRecord> out;
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
    out.push_back(std::move(r));
  }
  return out;
}

// The first ERROR/SKIP reason the test gave, if any: it says more than "exit
// status 3".
std::string test_reason(const console::ConsoleReport& rep) {
  for (const auto& t : rep.trials)
    if (t.status != console::TrialStatus::Pass && t.status != console::TrialStatus::Fail) return t.reason;
  if (!rep.plan_skip_reason.empty()) return "the test skipped: " + rep.plan_skip_reason;
  return "";
}

std::string exit_detail(int status) {
  std::string s = "the test exited with status " + std::to_string(status);
  if (status > 128 && status < 128 + 65) s += " (signal " + std::to_string(status - 128) + ")";
  return s;
}

// The test finished (exit marker): everything the contract asks must hold.
Verdict judge_finished(const console::ConsoleReport& rep, const console::Contract& c) {
  const int planned = c.planned.value_or(rep.plan.value_or(0));
  auto broken = [&](std::string why) {
    if (std::string r = test_reason(rep); !r.empty()) why = r + " (" + why + ")";
    return Verdict{Outcome::Infra, why, false};
  };
  if (*rep.exit_status != 0) return broken(exit_detail(*rep.exit_status));
  if (planned > 0 && !rep.test_started) return broken("/init never started the test");
  if (planned > 0 && !rep.plan) return broken("the test printed no plan 1.." + std::to_string(planned));
  const int got = static_cast<int>(rep.trials.size());
  if (got < planned)
    return broken(std::to_string(planned - got) + " of " + std::to_string(planned) + " results missing");
  return {Outcome::Pass, "", true};  // pass/fail decided by the trials
}

// The test had not finished when the VM ended.
Verdict judge_unfinished(vm::BootEnd end, size_t console_cap) {
  switch (end) {
    case vm::BootEnd::NoOutput: return {Outcome::Hang, "console silent; VM killed", true};
    case vm::BootEnd::Timeout: return {Outcome::Timeout, "hard timeout; VM killed", true};
    case vm::BootEnd::Stopped: return {Outcome::Pass, "", true};  // the host decided: pass/fail by the trials
    case vm::BootEnd::ConsoleFull:
      return {Outcome::Infra,
              "the console reached its " + std::to_string(console_cap >> 20) + " MiB cap before the test finished; VM stopped",
              true};
    default: return {Outcome::Infra, "the guest ended without /init's exit marker", false};
  }
}

Verdict judge(const console::ConsoleReport& rep, vm::BootEnd end, const console::Contract& c, size_t console_cap) {
  if (end == vm::BootEnd::LaunchError) return {Outcome::Infra, "VM did not start", false};
  // A crash wins over everything: the trial running at that moment has no
  // result line, so it is not counted as pass or fail.
  if (const auto* crash = rep.primary()) {
    const bool before_init = crash->kind == console::CrashKind::BootPanic && !rep.init_started;
    return {before_init ? Outcome::BootFailure : Outcome::Crash, crash->title, rep.violations.empty()};
  }
  if (!rep.violations.empty()) {
    std::string why = "guest contract broken: " + rep.violations.front();
    if (rep.violation_count > 1) why += " (and " + std::to_string(rep.violation_count - 1) + " more)";
    return {Outcome::Infra, why, false};
  }
  if (!rep.init_started)
    return {Outcome::BootFailure, "the guest never reached /init (" + std::string(vm::to_string(end)) + ")", false};
  if (!rep.init_errors.empty()) return {Outcome::Infra, rep.init_errors.front(), false};
  if (rep.exit_status) return judge_finished(rep, c);
  return judge_unfinished(end, console_cap);
}

// Results of a boot that broke the contract stay in the record, as infra.
void void_results(BootRecord& b, const std::string& why) {
  for (auto& t : b.trials) {
    if (t.outcome != Outcome::Pass && t.outcome != Outcome::Fail) continue;
    t.outcome = Outcome::Infra;
    t.reason = "not counted: " + why;
  }
}

void set_first_failure(BootRecord& b) {
  long guest_ms = 0;
  for (const auto& r : b.trials) {
    if (r.outcome == Outcome::Fail) {
      b.first_failure_s = (guest_ms + (r.first_bogus_ms >= 0 ? r.first_bogus_ms : r.ms)) / 1000.0;
      return;
    }
    guest_ms += r.ms;
  }
}

BootRecord classify(const console::ConsoleReport& rep, vm::BootEnd end, const console::Contract& c, size_t cap) {
  BootRecord b;
  b.end = end;
  b.planned = c.planned.value_or(0);
  b.trials = trial_records(rep);
  const Verdict v = judge(rep, end, c, cap);
  b.outcome = v.outcome;
  b.detail = v.detail;
  if (!v.results_count) void_results(b, v.detail);
  if (b.outcome == Outcome::Pass) {  // the trials decide
    b.outcome = b.fails() ? Outcome::Fail : b.infra() ? Outcome::Infra : Outcome::Pass;
    if (b.outcome == Outcome::Infra) b.detail = test_reason(rep);
  }
  set_first_failure(b);
  return b;
}

}  // namespace

BootRecord classify_boot(const console::ConsoleReport& report, vm::BootEnd end, const console::Contract& contract) {
  return classify(report, end, contract, console::kMaxConsoleFile);
}

BootRecord classify_console(std::string_view console, vm::BootEnd end, const console::Contract& contract) {
  return classify_boot(console::parse_console(console, contract), end, contract);
}

BootRecord classify_boot_file(const vm::BootSpec& spec, vm::BootEnd end) {
  const console::Contract c = contract_for(spec.cmdline);
  BootRecord b = end == vm::BootEnd::LaunchError
                     ? classify(console::ConsoleReport{}, end, c, spec.console_cap)
                     : classify(console::parse_console_file(spec.console_log.string(), c, spec.console_cap), end, c,
                                spec.console_cap);
  return b;
}

}  // namespace rb::run
