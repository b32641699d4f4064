#include "report/bisect_report.h"

#include <fmt/format.h>

#include "stats/binomial.h"

namespace rb::report {

namespace {

std::string short_id(const std::string& sha) { return sha.substr(0, 12); }

std::string step_line(const bisect::StepRecord& s) {
  if (s.build_failed) return fmt::format("{:<12} {}  build failed: skipped", s.kind, short_id(s.commit));
  std::string line = fmt::format("{:<12} {}  kernel {}  {:>3} trial(s) {:>3} failure(s) in {} boot(s)", s.kind,
                                 short_id(s.commit), s.kernel_sha256.empty() ? "-" : short_id(s.kernel_sha256),
                                 s.trials, s.failures, s.boots);
  if (s.empty_boots) line += fmt::format(" ({} without a trial)", s.empty_boots);
  return line + fmt::format("  -> top {} {:.4f}, cost {:.0f}", short_id(s.top_commit), s.top_probability, s.cost);
}

std::string evidence_table(const bisect::Result& r) {
  std::string out = fmt::format("{:>5} {:<12} {:>6} {:>5} {:>6} {:>5} {:>7} {:>17} {:>5} {:>7}  {}\n", "node", "commit",
                                "built", "boots", "trials", "fail", "rate", "95% CI", "other", "P(new)", "subject");
  for (const auto& c : r.commits) {
    const auto ci = stats::wilson(c.failures, c.trials);
    const std::string built = c.untestable ? (c.builds ? "SKIP" : "FAILED") : c.builds ? "yes" : "no";
    out += fmt::format("{:>5} {:<12} {:>6} {:>5} {:>6} {:>5} {:>7} {:>17} {:>5} {:>7.3f}  {}\n", c.node, short_id(c.commit),
                       built, c.boots, c.trials, c.failures,
                       c.trials ? fmt::format("{:.1f}%", 100.0 * c.failures / c.trials) : std::string("-"),
                       c.trials ? fmt::format("[{:.1f}%, {:.1f}%]", 100 * ci.low, 100 * ci.high) : std::string("-"),
                       c.other_crashes, c.p_new, c.subject.substr(0, 60));
  }
  return out;
}

std::string answer(const bisect::Result& r) {
  const char* what = r.fix ? "fix" : "culprit";
  switch (r.outcome) {
    case bisect::Outcome::Found:
      return fmt::format("{}: {} {}\nposterior: {:.4f} ({})\n", what, r.culprit_commit, r.culprit_subject, r.posterior, r.why);
    case bisect::Outcome::NoOp:
      return fmt::format("no-op {} (most likely wrong): {} {}\n{}\n", what, r.culprit_commit, r.culprit_subject, r.why);
    case bisect::Outcome::Ambiguous: {
      std::string out = fmt::format("ambiguous: the first {} commit could be any of ({:.4f}):\n", r.fix ? "fixed" : "bad",
                                    r.ambiguous_posterior);
      for (const auto& c : r.ambiguous) out += "  " + c + "\n";
      return out + r.why + "\n";
    }
    default: {
      std::string out = fmt::format("{}: {}\n", bisect::to_string(r.outcome), r.why);
      if (!r.ambiguous.empty()) {
        out += fmt::format("the first {} commit could be any of ({:.4f}):\n", r.fix ? "fixed" : "bad", r.ambiguous_posterior);
        for (const auto& c : r.ambiguous) out += "  " + c + "\n";
      }
      return out;
    }
  }
}

}  // namespace

std::string bisect_log(const std::vector<bisect::StepRecord>& steps) {
  std::string out;
  for (size_t i = 0; i < steps.size(); ++i) out += fmt::format("step {:>3}: {}\n", i + 1, step_line(steps[i]));
  return out;
}

std::string bisect_text(const bisect::Result& r) {
  std::string out = r.steps.empty() ? std::string() : "bisection log:\n" + bisect_log(r.steps) + "\n";
  out += evidence_table(r) + "\n" + answer(r);
  if (r.outcome != bisect::Outcome::Found && r.outcome != bisect::Outcome::NoOp && !r.top.empty()) {
    out += "most probable:";
    for (const auto& [c, p] : r.top) out += fmt::format(" {} {:.4f};", short_id(c), p);
    out += "\n";
  }
  out += fmt::format("learned failure rate: {:.3f} [{:.3f}, {:.3f}] (90%), flake rate {:.4f}; P(range wrong) {:.4f}\n",
                     r.rate_mean, r.rate_low, r.rate_high, r.flake_mean, r.p_range_wrong);
  const auto& o = r.other;
  if (o.old_crashes + o.new_crashes > 0)
    out += fmt::format("other crashes (not the target): {}/{} boots before the {}, {}/{} from it on (Fisher p {:.2g}){}\n",
                       o.old_crashes, o.old_boots, r.fix ? "fix" : "culprit", o.new_crashes, o.new_boots, o.p_value,
                       o.changed ? ": their rate CHANGES across it -- the race may show as another crash" : "");
  out += fmt::format("cost: {} build(s), {} boot(s), {} trial(s) = {:.0f} of {:.0f} trial units, {:.0f} s\n", r.builds,
                     r.boots, r.trials, r.cost, r.budget, r.wall_seconds);
  return out;
}

std::string bisect_events(const std::vector<std::pair<std::string, std::string>>& events) {
  std::string out;
  int step = 0;
  for (const auto& [at, text] : events) {
    std::string line = text;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object() && j.value("type", "") == "note") line = j.value("text", "");
    if (auto s = bisect::parse_step_event(text)) line = fmt::format("step {:>3}: {}", ++step, step_line(*s));
    out += at + "  " + line + "\n";
  }
  return out;
}

nlohmann::json bisect_json(const bisect::Result& r, int exit_code) {
  using nlohmann::json;
  json commits = json::array(), steps = json::array(), top = json::array();
  for (const auto& c : r.commits) {
    const auto ci = stats::wilson(c.failures, c.trials);
    commits.push_back({{"node", c.node}, {"commit", c.commit}, {"subject", c.subject}, {"kernel_sha256", c.kernel_sha256},
                       {"builds", c.builds}, {"build_failures", c.build_failures}, {"boots", c.boots},
                       {"empty_boots", c.empty_boots}, {"trials", c.trials}, {"failures", c.failures},
                       {"rate", c.trials ? double(c.failures) / c.trials : 0.0}, {"ci_low", ci.low}, {"ci_high", ci.high},
                       {"other_crashes", c.other_crashes}, {"untestable", c.untestable}, {"p_new", c.p_new},
                       {"p_culprit", c.p_culprit}});
  }
  for (const auto& s : r.steps)
    steps.push_back({{"kind", s.kind}, {"commit", s.commit}, {"kernel_sha256", s.kernel_sha256}, {"trials", s.trials},
                     {"failures", s.failures}, {"boots", s.boots}, {"empty_boots", s.empty_boots},
                     {"build_failed", s.build_failed}, {"top_commit", s.top_commit},
                     {"top_posterior", s.top_probability}, {"cost", s.cost}});
  for (const auto& [c, p] : r.top) top.push_back({{"commit", c}, {"posterior", p}});
  json culprit = nullptr, ambiguous = nullptr;
  if (r.culprit >= 0)
    culprit = {{"commit", r.culprit_commit}, {"subject", r.culprit_subject}, {"posterior", r.posterior}};
  if (!r.ambiguous.empty()) ambiguous = {{"commits", r.ambiguous}, {"posterior", r.ambiguous_posterior}};
  const auto& o = r.other;
  return {{"schema", "racebisect-bisect/1"},
          {"outcome", bisect::to_string(r.outcome)},
          {"why", r.why},
          {"exit_code", exit_code},
          {"direction", r.fix ? "fix" : "regression"},
          {"confidence", r.confidence},
          {"culprit", culprit},
          {"ambiguous", ambiguous},
          {"top", top},
          {"p_range_wrong", r.p_range_wrong},
          {"rate", {{"mean", r.rate_mean}, {"low", r.rate_low}, {"high", r.rate_high}}},
          {"flake_rate", r.flake_mean},
          {"commits", commits},
          {"steps", steps},
          {"other_crashes",
           {{"old_boots", o.old_boots}, {"old_crashes", o.old_crashes}, {"new_boots", o.new_boots},
            {"new_crashes", o.new_crashes}, {"p_value", o.p_value}, {"changed", o.changed}}},
          {"range_size", r.range_size},
          {"builds", r.builds},
          {"boots", r.boots},
          {"trials", r.trials},
          {"cost", r.cost},
          {"budget", r.budget},
          {"wall_seconds", r.wall_seconds}};
}

}  // namespace rb::report
