#include "report/doctor_report.h"

#include <fmt/format.h>

namespace rb::report {

namespace {

int count(const doctor::Report& r, doctor::Status s) {
  int n = 0;
  for (const auto& c : r.checks) n += c.status == s;
  return n;
}

std::string overall(const doctor::Report& r) {
  if (count(r, doctor::Status::Fail)) return "fail";
  return count(r, doctor::Status::Warn) ? "warn" : "ok";
}

}  // namespace

std::string render_doctor(const doctor::Report& r, bool strict) {
  std::string out;
  for (const auto& c : r.checks) {
    const std::string subject = c.subject.empty() || c.subject == c.id ? "" : " [" + c.subject + "]";
    out += fmt::format("{:<5} {:<12} {}{}\n", doctor::to_string(c.status), c.id, c.summary, subject);
    if (!c.fix.empty() && c.status != doctor::Status::Ok) out += fmt::format("{:<18}fix: {}\n", "", c.fix);
  }
  out += fmt::format("{} failed, {} warning(s), {} skipped: exit {}{}\n", count(r, doctor::Status::Fail),
                     count(r, doctor::Status::Warn), count(r, doctor::Status::Skip), r.exit_code(strict),
                     strict ? " (--strict: warnings count)" : "");
  return out;
}

nlohmann::json doctor_json(const doctor::Report& r, bool strict) {
  nlohmann::json j{{"schema", "racebisect-doctor/1"}, {"status", overall(r)}, {"exit_code", r.exit_code(strict)},
                   {"strict", strict}, {"checks", nlohmann::json::array()}};
  for (const auto& c : r.checks)
    j["checks"].push_back(
        {{"id", c.id}, {"subject", c.subject}, {"status", doctor::to_string(c.status)}, {"summary", c.summary}, {"fix", c.fix}});
  const auto& l = r.data.layout;
  j["data"] = {{"data", l.data.string()},       {"data_from", l.data_from},
               {"libexec", l.libexec.string()}, {"libexec_from", l.libexec_from},
               {"files", nlohmann::json::array()}};
  for (const auto& f : r.data.files) j["data"]["files"].push_back({{"role", f.role}, {"path", f.path.string()}, {"found", f.found}});
  return j;
}

}  // namespace rb::report
