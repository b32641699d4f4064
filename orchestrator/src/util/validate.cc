#include "util/validate.h"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "util/error.h"

namespace rb::validate {

namespace fs = std::filesystem;

namespace {

}  // namespace

std::string quoted(std::string_view v) {
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < 80; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > 80) out += "...";
  return out + "'";
}

namespace {

[[noreturn]] void refuse(std::string_view what, std::string_view value, std::string_view why) {
  throw usage_error(std::string(what) + " " + quoted(value) + ": " + std::string(why));
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// The nearest existing ancestor of a path we will create (the path itself
// if it exists); symlinks followed, as the OS will follow them.
fs::path existing_ancestor(const fs::path& p) {
  fs::path a = fs::absolute(p);
  std::error_code ec;
  while (!fs::exists(a, ec) && a.has_parent_path() && a != a.parent_path()) a = a.parent_path();
  return a;
}

void creatable_under(std::string_view what, const fs::path& p) {
  const fs::path a = existing_ancestor(p.parent_path().empty() ? fs::path(".") : p.parent_path());
  std::error_code ec;
  if (!fs::is_directory(a, ec))
    refuse(what, p.string(), a.string() + " is not a directory");
  if (::access(a.c_str(), W_OK | X_OK) != 0) refuse(what, p.string(), "directory " + a.string() + " is not writable");
}

}  // namespace

void name(std::string_view what, std::string_view v) {
  if (v.empty()) refuse(what, v, "must not be empty");
  if (v.size() > kMaxName) refuse(what, v, "longer than " + std::to_string(kMaxName) + " characters");
  for (char c : v)
    if (!name_char(c)) refuse(what, v, "only letters, digits, '.', '_' and '-' are allowed");
  if (v.front() == '.' || v.front() == '-') refuse(what, v, "must not start with '.' or '-'");
}

void label(std::string_view v) { name("kernel label", v); }
void case_name(std::string_view v) { name("case name", v); }

void guest_test(std::string_view v) {
  name("guest test", v);
  if (v.find('.') != std::string_view::npos) refuse("guest test", v, "only letters, digits, '_' and '-' are allowed");
}

void unique_labels(const std::vector<std::string>& labels) {
  std::set<std::string> seen;
  for (const auto& l : labels)
    if (!seen.insert(l).second) refuse("kernel label", l, "used twice (each kernel needs its own label)");
}

void guest_arg(std::string_view key, std::string_view value) {
  name("guest argument key", key);
  const std::string what = "guest argument " + std::string(key);
  if (value.empty()) refuse(what, value, "empty value");
  if (value.size() > kMaxArgValue) refuse(what, value, "longer than " + std::to_string(kMaxArgValue) + " characters");
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) refuse(what, value, "whitespace, control and non-ASCII characters are not allowed");
    if (c == ',' || c == '"' || c == '\\') refuse(what, value, "',', '\"' and '\\' are not allowed");
  }
}

std::pair<std::string, std::string> guest_arg_flag(std::string_view flag, std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) refuse(flag, text, "expected KEY=VALUE");
  std::string key(text.substr(0, eq)), value(text.substr(eq + 1));
  guest_arg(key, value);
  return {key, value};
}

void kernel_append(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 || u >= 0x7f)) refuse("--append", text, "control and non-ASCII characters are not allowed");
  }
  std::istringstream words{std::string(text)};
  for (std::string w; words >> w;)
    if (w.starts_with("rb.")) refuse("--append", text, "rb.* parameters are set by racebisect itself");
}

void kernel_cmdline_length(std::string_view cmdline) {
  if (cmdline.size() >= kMaxKernelCmdline)
    throw usage_error("the kernel command line would be " + std::to_string(cmdline.size()) +
                      " bytes; the kernel keeps only " + std::to_string(kMaxKernelCmdline - 1) +
                      ": use fewer or shorter guest arguments");
}

void int_range(std::string_view what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    refuse(what, std::to_string(v), "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
}

void real_range(std::string_view what, double v, double lo, double hi) {
  std::ostringstream s;
  s << v;
  if (!std::isfinite(v) || v < lo || v > hi) {
    std::ostringstream r;
    r << "must be between " << lo << " and " << hi;
    refuse(what, s.str(), r.str());
  }
}

void open_range(std::string_view what, double v, double lo, double hi) {
  std::ostringstream s, r;
  s << v;
  r << "must be strictly between " << lo << " and " << hi;
  if (!std::isfinite(v) || v <= lo || v >= hi) refuse(what, s.str(), r.str());
}

void probability(std::string_view what, double v) { open_range(what, v, 0, 1); }

void output_file(std::string_view what, const fs::path& p) {
  if (p.empty()) refuse(what, "", "must not be empty");
  std::error_code ec;
  const auto st = fs::symlink_status(p, ec);
  if (fs::exists(st)) {
    if (fs::is_symlink(st)) refuse(what, p.string(), "is a symbolic link (write to its target instead)");
    if (!fs::is_regular_file(st)) refuse(what, p.string(), "exists and is not a regular file");
  }
  creatable_under(what, p);
}

void output_dir(std::string_view what, const fs::path& p) {
  if (p.empty()) refuse(what, "", "must not be empty");
  std::error_code ec;
  if (fs::exists(p, ec)) {
    if (!fs::is_directory(p, ec)) refuse(what, p.string(), "exists and is not a directory");
    if (::access(p.c_str(), W_OK | X_OK) != 0) refuse(what, p.string(), "is not writable");
    return;
  }
  creatable_under(what, p);
}

void input_file(std::string_view what, const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) refuse(what, p.string(), "not found");
  if (fs::is_directory(p, ec)) refuse(what, p.string(), "is a directory, not a file");
  if (!fs::is_regular_file(p, ec)) refuse(what, p.string(), "is not a regular file");
  if (::access(p.c_str(), R_OK) != 0) refuse(what, p.string(), "is not readable");
}

void host_memory(int memory_mb, int vms, int64_t available_mb) {
  // QEMU itself (TCG translation cache, device model) needs room per VM too.
  constexpr int64_t kPerVmOverheadMb = 128;
  const int64_t need = static_cast<int64_t>(vms) * (memory_mb + kPerVmOverheadMb);
  if (need > available_mb)
    throw usage_error(std::to_string(vms) + " parallel VM(s) x " + std::to_string(memory_mb) +
                      " MiB guest RAM (+" + std::to_string(kPerVmOverheadMb) + " MiB each for QEMU) = " +
                      std::to_string(need) + " MiB, but the host has " + std::to_string(available_mb) +
                      " MiB available: lower --jobs/--slots or --memory-mb");
}

std::optional<int64_t> meminfo_available_mb(std::string_view meminfo) {
  std::istringstream in{std::string(meminfo)};
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("MemAvailable:")) continue;
    std::istringstream f(line.substr(13));
    int64_t kb = -1;
    std::string unit;
    if (f >> kb >> unit && kb >= 0 && unit == "kB") return kb / 1024;
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<int64_t> host_available_mb() {
  std::ifstream in("/proc/meminfo");
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return meminfo_available_mb(ss.str());
}

void git_revision(std::string_view what, std::string_view rev) {
  if (rev.empty()) refuse(what, rev, "must not be empty");
  if (rev.front() == '-') refuse(what, rev, "must not start with '-'");
  for (char c : rev) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) refuse(what, rev, "whitespace and control characters are not allowed");
  }
}

}  // namespace rb::validate
