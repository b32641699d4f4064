#include "console/ktap.h"

#include <algorithm>
#include <charconv>

#include "console/console_report.h"
#include "console/text.h"

namespace rb::console {

namespace {

using text::is_digit;
using text::is_space;
using text::trim;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// A positive test number: 1..999999999, digits only.
std::optional<int> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool known_directive(const std::string& d) {
  return d == "SKIP" || d == "TODO" || d == "XFAIL" || d == "TIMEOUT" || d == "ERROR";
}

// Position of a printk timestamp "[ <digits>.<digits>]" glued into a line, or npos.
size_t find_printk_timestamp(std::string_view s) {
  for (size_t p = s.find('['); p != std::string_view::npos; p = s.find('[', p + 1)) {
    size_t i = p + 1;
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t d0 = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == d0 || i >= s.size() || s[i] != '.') continue;
    const size_t f0 = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i > f0 && i < s.size() && s[i] == ']') return p;
  }
  return std::string_view::npos;
}

// The '#' that starts a directive/comment: at the start or after a space,
// not escaped as "\#".
size_t find_directive_hash(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '#') continue;
    if (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t') return i;
  }
  return std::string_view::npos;
}

// At most `max` bytes of s, never ending inside a UTF-8 sequence (the input
// is sanitized, so every sequence is valid).
std::string cut_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace

void add_violation(KtapReport& out, size_t line_no, std::string_view what) {
  ++out.violation_count;
  if (out.violations.size() < kMaxViolations)
    out.violations.push_back("line " + std::to_string(line_no) + ": " + std::string(what));
}

const char* to_string(TrialStatus s) {
  switch (s) {
    case TrialStatus::Pass: return "pass";
    case TrialStatus::Fail: return "fail";
    case TrialStatus::Skip: return "skip";
    case TrialStatus::Error: return "error";
  }
  return "?";
}

TrialStatus trial_status(bool ok, std::string_view directive) {
  const std::string d = upper(directive);
  if (d == "SKIP" || d == "TODO" || d == "XFAIL") return TrialStatus::Skip;
  if (d == "ERROR" || d == "TIMEOUT") return TrialStatus::Error;
  return ok ? TrialStatus::Pass : TrialStatus::Fail;
}

std::optional<int64_t> parse_int64(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (v > limit) return std::nullopt;
  if (neg) return v == (uint64_t{1} << 63) ? INT64_MIN : -static_cast<int64_t>(v);
  return static_cast<int64_t>(v);
}

std::string Trial::get(const std::string& key, const std::string& def) const {
  auto it = fields.find(key);
  return it == fields.end() ? def : it->second;
}

std::optional<int64_t> Trial::int_field(const std::string& key) const {
  auto it = fields.find(key);
  if (it == fields.end()) return std::nullopt;
  return parse_int64(it->second);
}

std::map<std::string, std::string> parse_fields(std::string_view text, size_t max_fields) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < text.size() && out.size() < max_fields) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    std::string_view word = text.substr(i, j - i);
    const size_t eq = word.find('=');
    if (eq != std::string_view::npos && eq > 0 && eq <= Trial::kMaxKey && word.size() - eq - 1 <= Trial::kMaxValue)
      out.emplace(word.substr(0, eq), word.substr(eq + 1));
    i = j;
  }
  return out;
}

std::optional<Trial> parse_result_line(std::string_view line) {
  Trial t;
  if (line.starts_with("ok ")) {
    t.ok = true;
    line.remove_prefix(3);
  } else if (line.starts_with("not ok ")) {
    t.ok = false;
    line.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  size_t n_end = 0;
  while (n_end < line.size() && is_digit(line[n_end])) ++n_end;
  if (n_end < line.size() && !is_space(line[n_end])) return std::nullopt;  // "ok 3x ..."
  auto num = parse_count(line.substr(0, n_end));
  if (!num) return std::nullopt;
  t.number = *num;
  std::string_view rest = line.substr(n_end);
  // Kernel output glued onto our line: keep only what we printed.
  if (size_t ts = find_printk_timestamp(rest); ts != std::string_view::npos) rest = rest.substr(0, ts);
  std::string_view desc = rest, tail;
  if (size_t hash = find_directive_hash(rest); hash != std::string_view::npos) {
    desc = rest.substr(0, hash);
    tail = trim(rest.substr(hash + 1));
  }
  desc = trim(desc);
  if (desc.starts_with("- ")) desc = trim(desc.substr(2));  // TAP style "ok 1 - name"
  // Name: the words before the first key=value field.
  size_t i = 0;
  std::string name;
  while (i < desc.size()) {
    size_t j = i;
    while (j < desc.size() && !is_space(desc[j])) ++j;
    std::string_view word = desc.substr(i, j - i);
    if (word.find('=') != std::string_view::npos) break;
    if (name.size() + word.size() < Trial::kMaxName) {  // whole words only: never half a character
      if (!name.empty()) name += ' ';
      name += word;
    }
    i = j;
    while (i < desc.size() && is_space(desc[i])) ++i;
  }
  t.name = std::move(name);
  t.fields = parse_fields(desc.substr(i));
  if (!tail.empty()) {
    size_t w = 0;
    while (w < tail.size() && !is_space(tail[w])) ++w;
    const std::string word = upper(tail.substr(0, w));
    if (known_directive(word)) {
      t.directive = word;
      t.reason = cut_utf8(trim(tail.substr(w)), Trial::kMaxReason);
      if (t.reason.empty()) t.reason = word;
    } else {
      t.reason = cut_utf8(tail, Trial::kMaxReason);  // a plain comment
    }
  }
  t.status = trial_status(t.ok, t.directive);
  return t;
}

size_t KtapParser::max_trials() const {
  return planned_ ? std::min<size_t>(static_cast<size_t>(std::max(*planned_, 0)), kMaxTrials) : kMaxTrials;
}

void KtapParser::update_missing(KtapReport& out) const {
  if (out.plan) {
    out.missing = std::max(0, *out.plan - in_plan_);
    out.incomplete = out.missing > 0;
  } else {
    out.missing = 0;
    out.incomplete = in_test_;
  }
}

void KtapParser::header(std::string_view line, size_t line_no, KtapReport& out) {
  auto v = parse_count(trim(line.substr(line.starts_with("KTAP") ? 13 : 12)));
  if (out.ktap_seen) {
    add_violation(out, line_no, "a second KTAP document");
  } else {
    out.ktap_seen = true;
    if (v) out.ktap_version = *v;
  }
  in_test_ = true;
  update_missing(out);
}

bool KtapParser::plan(std::string_view line, size_t line_no, KtapReport& out) {
  std::string_view rest = line.substr(3);
  size_t e = 0;
  while (e < rest.size() && is_digit(rest[e])) ++e;
  std::string_view after = trim(rest.substr(e));
  std::optional<int> n;
  if (e == 1 && rest[0] == '0') n = 0;
  else if (e > 0) n = parse_count(rest.substr(0, e));
  if (!n || !(after.empty() || after[0] == '#')) return false;  // not a plan: an ordinary line
  in_test_ = true;
  if (out.plan) {
    add_violation(out, line_no, "a second plan 1.." + std::to_string(*n));
    return true;
  }
  out.plan = *n;
  if (!after.empty()) {
    std::string_view d = trim(after.substr(1));
    if (upper(d.substr(0, 4)) == "SKIP" && (d.size() == 4 || is_space(d[4])))
      out.plan_skip_reason = cut_utf8(trim(d.substr(4)), Trial::kMaxReason);
  }
  if (planned_ && *n != *planned_) {
    std::string why = "plan 1.." + std::to_string(*n) + " but " + std::to_string(*planned_) +
                      " trial(s) were requested";
    if (!out.plan_skip_reason.empty()) why += " (the test skipped: " + out.plan_skip_reason + ")";
    add_violation(out, line_no, why);
  }
  // A late plan: results already taken beyond it are not counted.
  const auto beyond = std::find_if(out.trials.begin(), out.trials.end(), [&](const Trial& t) { return t.number > *n; });
  if (beyond != out.trials.end()) {
    add_violation(out, line_no, "plan 1.." + std::to_string(*n) + " after result " + std::to_string(beyond->number));
    out.trials.erase(beyond, out.trials.end());
    last_ = out.trials.empty() ? 0 : out.trials.back().number;
  }
  in_plan_ = static_cast<int>(out.trials.size());
  update_missing(out);
  return true;
}

void KtapParser::result(std::string_view line, size_t line_no, KtapReport& out, bool complete) {
  auto t = parse_result_line(line);
  if (t && !complete) {
    const size_t digits = line.find_first_not_of("0123456789", line.starts_with("ok ") ? 3 : 7);
    if (digits == std::string_view::npos) t.reset();  // "ok 1" cut from "ok 12 ..."
  }
  if (!t) {
    if (in_test_) ++out.anomalies;  // "ok x", "not ok 99999999999", ...
    return;
  }
  if (!in_test_) {
    ++out.anomalies;  // a result before the test started
    return;
  }
  const int n = t->number;
  const std::string id = "result " + std::to_string(n);
  if (n <= last_) {
    add_violation(out, line_no, n == 0 ? std::string("result numbered 0")
                                       : id + " after result " + std::to_string(last_) + " (numbers must increase)");
    return;
  }
  if (planned_ && n > *planned_) {
    add_violation(out, line_no, id + " beyond the " + std::to_string(*planned_) + " trial(s) requested");
    return;
  }
  if (out.plan && n > *out.plan) {
    add_violation(out, line_no, id + " beyond the plan 1.." + std::to_string(*out.plan));
    return;
  }
  if (out.trials.size() >= max_trials()) {
    add_violation(out, line_no, "more than " + std::to_string(max_trials()) + " results");
    return;
  }
  t->line = line_no;
  last_ = n;
  out.trials.push_back(std::move(*t));
  in_plan_ = static_cast<int>(out.trials.size());
  update_missing(out);
}

void KtapParser::diagnostic(std::string_view line, KtapReport& out) {
  std::string_view d = trim(line.substr(1));
  if (out.diagnostics.size() < kMaxDiagnostics) out.diagnostics.push_back(cut_utf8(d, kMaxDiagnostic));
  auto merge = [](std::map<std::string, std::string>& into, std::string_view text) {
    for (auto& [k, v] : parse_fields(text, kMaxEnvFields))
      if (into.size() < kMaxEnvFields) into.emplace(k, v);
  };
  if (d.starts_with("env ")) merge(out.env, d.substr(4));
  else if (d.starts_with("summary ")) merge(out.summary, d.substr(8));
}

void KtapParser::add_line(std::string_view line, size_t line_no, KtapReport& out, bool complete) {
  if (line.empty() || is_space(line[0])) return;  // indented: a subtest, never a trial
  if (line.starts_with("KTAP version ") || line.starts_with("TAP version ")) return header(line, line_no, out);
  if (line.starts_with("1..") && plan(line, line_no, out)) return;
  if (line.starts_with("ok ") || line.starts_with("not ok ")) return result(line, line_no, out, complete);
  if (line[0] == '#') diagnostic(line, out);
}

KtapReport parse_ktap(std::string_view text) {
  KtapReport out;
  KtapParser p;
  size_t n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    p.add_line(sanitize_line(raw), ++n, out);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace rb::console
