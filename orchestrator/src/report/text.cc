#include "report/text.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdint>

namespace rb::report {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one code point at in[i]; returns the length consumed and sets cp,
// or returns 1 with cp = U+FFFD for anything that is not strict UTF-8
// (Unicode 15, table 3-7: no overlongs, no surrogates, nothing past U+10FFFF).
size_t decode(std::string_view in, size_t i, char32_t& cp) {
  const auto b = [&](size_t j) { return static_cast<unsigned char>(in[j]); };
  const unsigned char c = b(i);
  cp = 0xFFFD;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  size_t len;
  char32_t min;
  if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000, cp = c & 0x07;
  else return cp = 0xFFFD, 1;
  if (i + len > in.size()) return cp = 0xFFFD, 1;
  for (size_t j = 1; j < len; ++j) {
    if ((b(i + j) & 0xC0) != 0x80) return cp = 0xFFFD, 1;
    cp = (cp << 6) | (b(i + j) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return cp = 0xFFFD, 1;
  return len;
}

bool is_control(char32_t cp, bool keep_newlines) {
  if (keep_newlines && (cp == '\n' || cp == '\t')) return false;
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

}  // namespace

std::string sanitize(std::string_view in, bool keep_newlines) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    char32_t cp;
    i += decode(in, i, cp);
    if (cp == '\r') continue;
    if (is_control(cp, keep_newlines)) out += kReplacement;
    else append_utf8(out, cp);
  }
  return out;
}

std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    char32_t cp;
    const size_t len = decode(in, i, cp);
    if (cp == 0xFFFD && len == 1 && static_cast<unsigned char>(in[i]) >= 0x80) out += kReplacement;
    else out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

std::string escape_html(std::string_view in, bool keep_newlines) {
  const std::string clean = sanitize(in, keep_newlines);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string relative_href(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos) return "";
  const size_t colon = path.find(':'), slash = path.find('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash)) return "";  // a scheme
  std::string out;
  size_t start = 0;
  for (;;) {
    const size_t end = path.find('/', start);
    const std::string_view seg = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg == ".." || seg.empty()) return "";
    for (unsigned char c : seg) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += static_cast<char>(c);
      else out += fmt::format("%{:02X}", c);
    }
    if (end == std::string_view::npos) break;
    out += '/';
    start = end + 1;
  }
  return out;
}

std::string percent(double fraction, int decimals) { return fmt::format("{:.{}f}%", 100 * fraction, decimals); }

std::string rate_per_s(double rate) {
  if (std::isnan(rate)) return "-";
  if (std::isinf(rate)) return "inf/s";
  if (rate == 0) return "0/s";
  // Three significant digits without exponents down to 0.0001/s.
  const int digits = std::max(0, 2 - static_cast<int>(std::floor(std::log10(std::fabs(rate)))));
  if (digits > 6) return fmt::format("{:.2e}/s", rate);
  return fmt::format("{:.{}f}/s", rate, digits);
}

std::string p_value(double p) {
  if (std::isnan(p)) return "-";
  if (p < 1e-300) return "< 1e-300";
  if (p < 1e-3) return fmt::format("{:.2g}", p);
  return fmt::format("{:.4f}", p);
}

}  // namespace rb::report
