#include "report/text.h"

#include <gtest/gtest.h>

namespace rb::report {
namespace {

struct Case {
  const char* name;
  std::string in, want;
};

TEST(Sanitize, Table) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  const Case cases[] = {
      {"plain ASCII passes", "6.1-shipped/missing", "6.1-shipped/missing"},
      {"valid multibyte passes", "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x90\x9B", "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x90\x9B"},
      {"escape and bell become visible", "a\x1b[31mred\x07", "a" + r + "[31mred" + r},
      {"NUL in the middle", std::string("a\0b", 3), "a" + r + "b"},
      {"DEL and C1", "x\x7Fy\xC2\x85z", "x" + r + "y" + r + "z"},
      {"CR dropped, newline replaced", "l1\r\nl2", "l1" + r + "l2"},
      {"lone continuation byte", "a\x80z", "a" + r + "z"},
      {"overlong slash", "\xC0\xAF", r + r},
      {"surrogate", "\xED\xA0\x80", r + r + r},
      {"past U+10FFFF", "\xF4\x90\x80\x80", r + r + r + r},
      {"truncated at the end", "ok\xE2\x9C", "ok" + r + r},
  };
  for (const auto& c : cases) EXPECT_EQ(sanitize(c.in), c.want) << c.name;
  EXPECT_EQ(sanitize("l1\r\nl2\tx", true), "l1\nl2\tx");
}

TEST(ValidUtf8, RepairsEncodingOnly) {
  EXPECT_EQ(valid_utf8("ok \x1b[0m\t\n"), "ok \x1b[0m\t\n");  // controls kept: JSON escapes them
  EXPECT_EQ(valid_utf8("a\xff" "b\xc3\xa9"), "a\xEF\xBF\xBD" "b\xc3\xa9");
  EXPECT_EQ(valid_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(EscapeHtml, Table) {
  const Case cases[] = {
      {"script tag", "</script><script>alert(1)</script>",
       "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"attribute breakout", "\" onmouseover='x'", "&quot; onmouseover=&#39;x&#39;"},
      {"svg onload", "<svg onload=alert(1)>", "&lt;svg onload=alert(1)&gt;"},
      {"entity stays literal", "&lt;", "&amp;lt;"},
  };
  for (const auto& c : cases) EXPECT_EQ(escape_html(c.in), c.want) << c.name;
}

TEST(RelativeHref, Table) {
  const Case cases[] = {
      {"run-relative log", "boots/6.1-shipped-1.log", "boots/6.1-shipped-1.log"},
      {"spaces and quotes encoded", "boots/a b\"<.log", "boots/a%20b%22%3C.log"},
      {"javascript scheme refused", "javascript:alert(1)", ""},
      {"data scheme refused", "data:text/html,x", ""},
      {"absolute path refused", "/etc/passwd", ""},
      {"parent refused", "boots/../../x", ""},
      {"backslash refused", "boots\\x", ""},
      {"empty segment refused", "boots//x", ""},
      {"colon after a slash is a file name", "boots/a:b.log", "boots/a%3Ab.log"},
      {"non-ASCII encoded bytewise", "caf\xC3\xA9.log", "caf%C3%A9.log"},
  };
  for (const auto& c : cases) EXPECT_EQ(relative_href(c.in), c.want) << c.name;
}

TEST(Figures, Table) {
  EXPECT_EQ(percent(0.95), "95.0%");
  EXPECT_EQ(rate_per_s(1.2345), "1.23/s");
  EXPECT_EQ(rate_per_s(0.061), "0.0610/s");
  EXPECT_EQ(rate_per_s(123.4), "123/s");
  EXPECT_EQ(rate_per_s(0), "0/s");
  EXPECT_EQ(rate_per_s(1.0 / 0.0), "inf/s");
  EXPECT_EQ(rate_per_s(2e-9), "2.00e-09/s");
  EXPECT_EQ(p_value(0.0123), "0.0123");
  EXPECT_EQ(p_value(1.2e-9), "1.2e-09");
  EXPECT_EQ(p_value(0), "< 1e-300");
}

}  // namespace
}  // namespace rb::report
