// Character tests and trimming shared by the console parsers (ktap.cc,
// oops.cc): ASCII only, whatever the locale, since the console is hostile
// bytes, not text in the host's encoding.
#pragma once
#include <string_view>

namespace rb::console::text {

inline bool is_space(char c) { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `s` without leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace rb::console::text
