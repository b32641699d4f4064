// Untrusted text on its way into a report. Labels come from matrix files and
// console excerpts from guests that may be hostile, so every string is made
// valid before any format sees it: valid UTF-8, no control bytes, then
// escaped for the format it lands in.
#pragma once
#include <string>
#include <string_view>

namespace rb::report {

// Valid UTF-8 without control characters: invalid or overlong sequences,
// surrogates and code points past U+10FFFF become U+FFFD; C0 controls
// (except \n and \t when keep_newlines), DEL and C1 controls become
// U+FFFD too, so they stay visible as "something was here" without being
// able to move a terminal cursor or break an XML parser. \r is dropped
// (consoles end lines with \r\n).
std::string sanitize(std::string_view in, bool keep_newlines = false);

// Only repairs the encoding: invalid sequences become U+FFFD, everything
// else (control characters included) is kept. For JSON, whose writer
// escapes control characters but throws on invalid UTF-8.
std::string valid_utf8(std::string_view in);

// For HTML/XML text and attribute values: & < > " ' escaped (after sanitize).
std::string escape_html(std::string_view in, bool keep_newlines = false);

// A link target for a console log: only a relative path without a scheme, a
// leading '/', a '..' segment or a backslash is kept, each segment
// percent-encoded (RFC 3986 unreserved characters pass); anything else
// returns "" and the caller shows the path as text instead of a link.
std::string relative_href(std::string_view path);

// Figures as people read them: "18/20", "90.0%", "1.24/s", "< 0.062/s".
std::string percent(double fraction, int decimals = 1);
std::string rate_per_s(double rate);  // 3 significant digits, "0/s" for 0, "inf/s"
std::string p_value(double p);        // "0.0123", "1.2e-09", "< 1e-300"

}  // namespace rb::report
