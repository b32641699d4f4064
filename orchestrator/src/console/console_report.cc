#include "console/console_report.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/error.h"

namespace rb::console {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) n = 3, lo = 0xa0;
  else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) n = 3;
  else if (c == 0xed) n = 3, hi = 0x9f;
  else if (c == 0xf0) n = 4, lo = 0x90;
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else if (c == 0xf4) n = 4, hi = 0x8f;
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return n;
}

}  // namespace

std::string sanitize_line(std::string_view raw) {
  if (raw.size() > kMaxLine) raw = raw.substr(0, kMaxLine);
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == 0x1b) {  // ESC
      ++i;
      if (i >= raw.size()) break;
      const unsigned char k = static_cast<unsigned char>(raw[i]);
      if (k == '[') {  // CSI: parameters/intermediates, then a final byte 0x40-0x7e
        ++i;
        while (i < raw.size() && static_cast<unsigned char>(raw[i]) >= 0x20 &&
               static_cast<unsigned char>(raw[i]) <= 0x3f)
          ++i;
        while (i < raw.size() && static_cast<unsigned char>(raw[i]) >= 0x20 &&
               static_cast<unsigned char>(raw[i]) <= 0x2f)
          ++i;
        if (i < raw.size() && static_cast<unsigned char>(raw[i]) >= 0x40 && static_cast<unsigned char>(raw[i]) <= 0x7e)
          ++i;
      } else if (k == ']' || k == 'P' || k == '_' || k == '^') {  // OSC/DCS/...: up to BEL or ESC '\'
        ++i;
        while (i < raw.size() && raw[i] != '\a' && raw[i] != 0x1b) ++i;
        if (i < raw.size() && raw[i] == '\a') ++i;
        else if (i + 1 < raw.size() && raw[i] == 0x1b && raw[i + 1] == '\\') i += 2;
      } else if (k >= 0x20 && k <= 0x2f) {  // "ESC ( B" and friends: intermediates then one final byte
        while (i < raw.size() && static_cast<unsigned char>(raw[i]) >= 0x20 &&
               static_cast<unsigned char>(raw[i]) <= 0x2f)
          ++i;
        if (i < raw.size() && static_cast<unsigned char>(raw[i]) >= 0x30 && static_cast<unsigned char>(raw[i]) <= 0x7e)
          ++i;
      } else if (k >= 0x30 && k <= 0x7e) {  // two-byte sequences: "ESC c", "ESC 7", ...
        ++i;
      }
      continue;
    }
    if (c < 0x80) {
      if (c == '\t' || (c >= 0x20 && c != 0x7f)) out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t n = utf8_length(raw, i);
    if (n == 0) {
      out += '?';
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) are dropped like C0 ones.
    const bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(raw[i + 1]) <= 0x9f;
    if (!c1) out.append(raw.substr(i, n));
    i += n;
  }
  return out;
}

void ConsoleParser::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const size_t nl = chunk.find('\n');
    const std::string_view seg = chunk.substr(0, nl);
    const size_t room = kMaxLine - partial_.size();
    if (seg.size() > room) overlong_ = true;
    partial_.append(seg.substr(0, std::min(room, seg.size())));
    if (nl == std::string_view::npos) return;
    line(partial_);
    partial_.clear();
    overlong_ = false;
    chunk.remove_prefix(nl + 1);
  }
}

void ConsoleParser::finish() {
  if (!partial_.empty() || overlong_) {
    report_.unterminated = true;
    line(partial_, false);
  }
  partial_.clear();
  overlong_ = false;
}

ConsoleParser::ConsoleParser(Contract contract)
    : prefix_(contract.nonce.empty() ? std::string(kMarker) + ": " : std::string(kMarker) + " " + contract.nonce + ": "),
      ktap_(contract.planned) {}

void ConsoleParser::line(std::string_view raw, bool complete) {
  const size_t n = ++report_.lines;
  if (overlong_) ++report_.truncated_lines;
  const std::string full = sanitize_line(raw);
  // /init's lines are printk records: a kernel with PRINTK_TIME or
  // PRINTK_CALLER prefixes them like its own.
  const std::string_view l = strip_timestamp(full);

  // Kernel reports are looked for everywhere, even in our own marker lines
  // (printk can be glued onto them).
  crash_.add_line(full, n, report_.crashes);
  if (l.starts_with(kMarker)) return marker(l, n);
  if (in_test()) return ktap_.add_line(l, n, report_, complete);
  // Results outside /init's exec..exit window are never trials.
  if (l.starts_with("ok ") || l.starts_with("not ok ")) ++report_.anomalies;
}

void ConsoleParser::marker(std::string_view l, size_t n) {
  auto& r = report_;
  if (!l.starts_with(prefix_)) {
    // Only /init knows this boot's nonce, and its lines through the test's
    // pipe are defused by /init: this line came from somewhere else.
    add_violation(r, n, "a racebisect-init line without this boot's nonce (forged or from another boot)");
    return;
  }
  std::string_view rest = l.substr(prefix_.size());
  if (rest.starts_with("start")) {
    if (r.init_started) add_violation(r, n, "a second start marker");
    r.init_started = true;
  } else if (rest.starts_with("exec ")) {
    if (!r.init_started || r.test_started || r.exit_status) {
      add_violation(r, n, "an exec marker out of order");
      return;
    }
    r.test_started = true;
    ktap_.start_test();
  } else if (rest.starts_with("exit status=")) {
    std::string_view num = rest.substr(12);
    size_t e = 0;
    while (e < num.size() && e < 9 && num[e] >= '0' && num[e] <= '9') ++e;
    if (r.exit_status) add_violation(r, n, "a second exit marker");
    else if (e == 0) add_violation(r, n, "an exit marker without a status");
    else r.exit_status = static_cast<int>(*parse_int64(num.substr(0, e)));
  } else if (rest.starts_with("error")) {
    std::string_view text = rest.substr(5);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (text.empty()) text = "error";
    if (r.init_errors.size() < kMaxInitErrors) {
      size_t cut = std::min(text.size(), kMaxInitError);
      while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
      r.init_errors.emplace_back(text.substr(0, cut));
    }
  }
  // Anything else from /init ("hugepages total=...") is information only.
}

ConsoleReport parse_console(std::string_view text, const Contract& contract) {
  ConsoleParser p(contract);
  p.feed(text);
  p.finish();
  return p.report();
}

ConsoleReport parse_console_file(const std::string& path, const Contract& contract, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw infra_error("cannot read console log " + path + ": " + std::strerror(errno));
  ConsoleParser p(contract);
  std::string buf(1 << 20, '\0');
  size_t total = 0;
  while (total < max_bytes && in) {
    in.read(buf.data(), static_cast<std::streamsize>(std::min(buf.size(), max_bytes - total)));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    p.feed(std::string_view(buf.data(), got));
    total += got;
  }
  if (in.bad()) throw infra_error("error reading console log " + path);
  p.finish();
  return p.report();
}

}  // namespace rb::console
