// Kconfig fragments: parsing, merging onto a base config, and verifying that
// every option a fragment asks for survived `olddefconfig` (options silently
// vanish when a dependency is off -- the classic way to test the wrong kernel).
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rb::kernel {

struct ConfigOption {
  std::string name;   // without the CONFIG_ prefix
  std::string value;  // "y", "m", "n" (for "# CONFIG_X is not set"), a number or a "string"
  std::string origin; // "file:line" for error messages
};

// Parses `CONFIG_X=v` and `# CONFIG_X is not set` lines; other comments and
// blank lines are ignored; anything else is an rb::Error naming file:line.
std::vector<ConfigOption> parse_fragment(std::string_view text, const std::string& origin);
std::vector<ConfigOption> load_fragment(const std::filesystem::path& path);

// A resolved .config as a map name -> value ("n" for "is not set").
std::map<std::string, std::string> parse_dotconfig(std::string_view text);

// CONFIG_HZ of a resolved .config's text; nullopt when it does not say or
// says something that is not a timer rate.
std::optional<int> config_hz(std::string_view config);

struct Mismatch {
  ConfigOption wanted;
  std::optional<std::string> got;  // nullopt: the option is absent from .config
  bool exists_in_kconfig = true;   // false: no such option in this tree at all
  std::vector<std::string> depends;  // "depends on" / "select" lines from Kconfig
  std::string describe() const;
};

// Compares wanted options with the final .config. `kconfig_root` (the source
// tree) is searched for the definition of each missing option, so the error
// can say "does not exist" or "depends on X".
std::vector<Mismatch> verify_config(const std::vector<ConfigOption>& wanted,
                                    const std::map<std::string, std::string>& dotconfig,
                                    const std::filesystem::path& kconfig_root);

struct KconfigEntry {
  std::string file;
  std::vector<std::string> depends;  // the entry's "depends on" expressions
};
// Finds `config NAME` / `menuconfig NAME` in all Kconfig* files under root.
std::optional<KconfigEntry> find_kconfig(const std::filesystem::path& root, const std::string& name);
// Same, on one Kconfig file's text (unit-testable).
std::optional<KconfigEntry> find_kconfig_in(std::string_view text, const std::string& name, const std::string& file);

}  // namespace rb::kernel
