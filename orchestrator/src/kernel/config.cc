#include "kernel/config.h"

#include <fstream>
#include <regex>
#include <sstream>

#include "util/error.h"
#include "util/fs.h"

namespace rb::kernel {

namespace {

std::string strip(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool valid_symbol(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(isupper(static_cast<unsigned char>(c)) || isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          islower(static_cast<unsigned char>(c))))
      return false;
  return true;
}

}  // namespace

std::vector<ConfigOption> parse_fragment(std::string_view text, const std::string& origin) {
  std::vector<ConfigOption> out;
  std::istringstream in{std::string(text)};
  std::string raw;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    std::string line = strip(raw);
    const std::string where = origin + ":" + std::to_string(lineno);
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# CONFIG_FOO is not set" is an explicit "n"; other comments are prose.
      static const std::regex unset(R"(^#\s*CONFIG_([A-Za-z0-9_]+) is not set$)");
      std::smatch m;
      if (std::regex_match(line, m, unset)) out.push_back({m[1], "n", where});
      continue;
    }
    if (!line.starts_with("CONFIG_")) throw usage_error(where + ": expected CONFIG_NAME=value, got '" + line + "'");
    size_t eq = line.find('=');
    if (eq == std::string::npos) throw usage_error(where + ": missing '=' in '" + line + "'");
    std::string name = line.substr(7, eq - 7), value = line.substr(eq + 1);
    if (!valid_symbol(name)) throw usage_error(where + ": invalid option name '" + name + "'");
    if (value.empty()) throw usage_error(where + ": empty value for CONFIG_" + name);
    out.push_back({name, value, where});
  }
  return out;
}

std::vector<ConfigOption> load_fragment(const fs::path& path) {
  if (!fs::exists(path)) throw usage_error("config fragment not found: " + path.string());
  return parse_fragment(read_file(path), path.filename().string());
}

std::map<std::string, std::string> parse_dotconfig(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const auto& opt : parse_fragment(text, ".config")) out[opt.name] = opt.value;
  return out;
}

std::optional<int> config_hz(std::string_view config) {
  // One line is needed: look for it, do not parse the whole config.
  for (size_t i = 0; i < config.size();) {
    const size_t eol = std::min(config.find('\n', i), config.size());
    const std::string_view line = config.substr(i, eol - i);
    i = eol + 1;
    if (!line.starts_with("CONFIG_HZ=")) continue;
    const std::string v(line.substr(10));
    if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const int hz = std::stoi(v);
    return hz >= 24 && hz <= 10000 ? std::optional<int>(hz) : std::nullopt;
  }
  return std::nullopt;
}

std::string Mismatch::describe() const {
  std::string s = "CONFIG_" + wanted.name + "=" + wanted.value + " (" + wanted.origin + ") ";
  if (!exists_in_kconfig) return s + "does not exist in this kernel tree";
  s += got ? "ended up as " + (*got == "n" ? std::string("not set") : "=" + *got) : std::string("is absent from .config");
  if (!depends.empty()) {
    s += "; Kconfig says it depends on:";
    for (auto& d : depends) s += " [" + d + "]";
  }
  return s;
}

std::optional<KconfigEntry> find_kconfig_in(std::string_view text, const std::string& name, const std::string& file) {
  std::istringstream in{std::string(text)};
  std::string raw;
  bool inside = false;
  std::optional<KconfigEntry> found;
  static const std::regex header(R"(^\s*(menu)?config\s+([A-Za-z0-9_]+)\s*$)");
  static const std::regex other(R"(^\s*(menu|endmenu|choice|endchoice|if|endif|source|comment|mainmenu)\b.*)");
  static const std::regex dep(R"(^\s*depends\s+on\s+(.+)$)");
  while (std::getline(in, raw)) {
    std::smatch m;
    if (std::regex_match(raw, m, header)) {
      inside = m[2] == name;
      if (inside && !found) found = KconfigEntry{file, {}};
      continue;
    }
    if (std::regex_match(raw, m, other)) {
      inside = false;
      continue;
    }
    if (inside && std::regex_match(raw, m, dep)) found->depends.push_back(strip(m[1]));
  }
  return found;
}

std::optional<KconfigEntry> find_kconfig(const fs::path& root, const std::string& name) {
  // A cheap substring test first: regexes over ~1700 Kconfig files are slow.
  const std::string needle = "config " + name;
  std::optional<KconfigEntry> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_directory() && it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !it->path().filename().string().starts_with("Kconfig")) continue;
    std::string text = read_file(it->path());
    if (text.find(needle) == std::string::npos) continue;
    auto e = find_kconfig_in(text, name, fs::relative(it->path(), root).string());
    if (!e) continue;
    if (!found) found = e;
    else found->depends.insert(found->depends.end(), e->depends.begin(), e->depends.end());
  }
  return found;
}

std::vector<Mismatch> verify_config(const std::vector<ConfigOption>& wanted,
                                    const std::map<std::string, std::string>& dotconfig,
                                    const fs::path& kconfig_root) {
  // Later fragments override earlier ones, as in the merge itself.
  std::map<std::string, ConfigOption> last;
  for (const auto& w : wanted) last[w.name] = w;
  std::vector<Mismatch> out;
  for (const auto& [name, w] : last) {
    auto it = dotconfig.find(name);
    std::optional<std::string> got;
    if (it != dotconfig.end()) got = it->second;
    const bool ok = (w.value == "n") ? (!got || *got == "n") : (got && *got == w.value);
    if (ok) continue;
    Mismatch m{w, got, true, {}};
    if (!kconfig_root.empty()) {
      auto e = find_kconfig(kconfig_root, name);
      if (!e) m.exists_in_kconfig = false;
      else m.depends = e->depends;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace rb::kernel
