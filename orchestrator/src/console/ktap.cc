#include "console/ktap.h"

#include <algorithm>
#include <charconv>

#include "console/console_report.h"

namespace rb::console {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

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

}  // namespace

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

std::map<std::string, std::string> parse_fields(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < text.size() && out.size() < 256) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    std::string_view word = text.substr(i, j - i);
    const size_t eq = word.find('=');
    if (eq != std::string_view::npos && eq > 0) out.emplace(word.substr(0, eq), word.substr(eq + 1));
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
    if (name.size() + word.size() < Trial::kMaxName) {
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
      t.reason = std::string(trim(tail.substr(w)));
      if (t.reason.empty()) t.reason = word;
    } else {
      t.reason = std::string(tail);  // a plain comment
    }
  }
  t.status = trial_status(t.ok, t.directive);
  return t;
}

void KtapParser::update_missing(KtapReport& out) const {
  if (out.plan) {
    out.missing = *out.plan - in_plan_;
    out.incomplete = out.missing > 0;
  } else {
    out.missing = 0;
    out.incomplete = in_test_;
  }
}

void KtapParser::add_line(std::string_view line, size_t line_no, KtapReport& out, bool complete) {
  if (line.empty() || is_space(line[0])) return;  // indented: a subtest, never a trial

  if (line.starts_with("KTAP version ") || line.starts_with("TAP version ")) {
    auto v = parse_count(trim(line.substr(line.starts_with("KTAP") ? 13 : 12)));
    if (out.ktap_seen) {
      ++out.anomalies;  // a second document in one boot
    } else {
      out.ktap_seen = true;
      if (v) out.ktap_version = *v;
    }
    in_test_ = true;
    update_missing(out);
    return;
  }

  if (line.starts_with("1..")) {
    std::string_view rest = line.substr(3);
    size_t e = 0;
    while (e < rest.size() && is_digit(rest[e])) ++e;
    std::string_view after = trim(rest.substr(e));
    std::optional<int> n;
    if (e == 0) n = std::nullopt;
    else if (e == 1 && rest[0] == '0') n = 0;
    else n = parse_count(rest.substr(0, e));
    if (n && (after.empty() || after[0] == '#')) {
      if (out.plan) {
        ++out.anomalies;
      } else {
        out.plan = *n;
        in_plan_ = 0;
        for (auto it = numbers_.begin(); it != numbers_.end() && *it <= *n; ++it) ++in_plan_;
        if (!after.empty()) {
          std::string_view d = trim(after.substr(1));
          if (upper(d.substr(0, 4)) == "SKIP" && (d.size() == 4 || is_space(d[4])))
            out.plan_skip_reason = std::string(trim(d.substr(4)));
        }
      }
      in_test_ = true;
      update_missing(out);
      return;
    }
  }

  if (line.starts_with("ok ") || line.starts_with("not ok ")) {
    auto t = parse_result_line(line);
    if (t && !complete) {
      const size_t digits = line.find_first_not_of("0123456789", line.starts_with("ok ") ? 3 : 7);
      if (digits == std::string_view::npos) t.reset();  // "ok 1" cut from "ok 12 ..."
    }
    if (!t) {
      if (in_test_) ++out.anomalies;  // "ok x", "not ok 99999999999", ...
      return;
    }
    if (!in_test_ || t->number == 0 || numbers_.count(t->number) || out.trials.size() >= kMaxTrials) {
      ++out.anomalies;
      return;
    }
    if (out.plan && t->number > *out.plan) ++out.anomalies;  // kept: it is a real result, but odd
    t->line = line_no;
    numbers_.insert(t->number);
    if (out.plan && t->number <= *out.plan) ++in_plan_;
    out.trials.push_back(std::move(*t));
    update_missing(out);
    return;
  }

  if (line[0] == '#') {
    std::string_view d = trim(line.substr(1));
    if (out.diagnostics.size() < kMaxDiagnostics) out.diagnostics.emplace_back(d);
    auto merge = [](std::map<std::string, std::string>& into, std::string_view text) {
      for (auto& [k, v] : parse_fields(text))
        if (into.size() < 256) into.emplace(k, v);
    };
    if (d.starts_with("env ")) merge(out.env, d.substr(4));
    else if (d.starts_with("summary ")) merge(out.summary, d.substr(8));
  }
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
