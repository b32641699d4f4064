#include "run/paths.h"

#include <cstdlib>
#include <mutex>

#include "util/error.h"

// Relative paths from the install's bindir to its data and libexec dirs,
// set by CMake from GNUInstallDirs (relative, so the prefix can move).
#if !defined(RB_REL_DATADIR) || !defined(RB_REL_LIBEXECDIR)
#error "RB_REL_DATADIR and RB_REL_LIBEXECDIR come from orchestrator/CMakeLists.txt"
#endif

namespace rb::run {

namespace {

namespace fs = std::filesystem;

// What marks a directory as the one we want: a data dir has cases/, a
// libexec dir has the init every initramfs needs.
bool is_data_dir(const fs::path& d) { return fs::is_directory(d / "cases"); }
bool is_libexec_dir(const fs::path& d) { return fs::is_regular_file(d / "rb-init"); }

struct Candidate {
  const char* var;
  const std::optional<fs::path>& env;
  fs::path relative;
  bool (*ok)(const fs::path&);
  const char* wants;
};

// Returns the directory and how it was found; see the header for the order.
std::pair<fs::path, std::string> pick(const Candidate& c, const fs::path& exe) {
  if (c.env) {
    if (!c.ok(*c.env))
      throw usage_error(std::string(c.var) + "=" + c.env->string() + ": not a racebisect " + c.wants);
    return {fs::absolute(*c.env), c.var};
  }
  const fs::path near_exe = (exe.parent_path() / c.relative).lexically_normal();
  if (c.ok(near_exe)) return {near_exe, "executable"};
  throw infra_error(std::string("racebisect's ") + c.wants + " not found: $" + c.var + " is unset and " +
                    near_exe.string() + " (relative to " + exe.string() +
                    ") has none; reinstall (cmake --install) or set " + c.var);
}

std::optional<fs::path> env_path(const char* var) {
  const char* v = std::getenv(var);
  if (!v || !*v) return std::nullopt;
  return fs::path(v);
}

}  // namespace

DataLayout resolve_layout(const LayoutInputs& in) {
  DataLayout l;
  std::tie(l.data, l.data_from) =
      pick({"RACEBISECT_DATA", in.env_data, RB_REL_DATADIR, is_data_dir, "data directory (with cases/)"}, in.exe);
  std::tie(l.libexec, l.libexec_from) = pick(
      {"RACEBISECT_LIBEXEC", in.env_libexec, RB_REL_LIBEXECDIR, is_libexec_dir, "guest binary directory (with rb-init)"},
      in.exe);
  return l;
}

const DataLayout& data_layout() {
  static std::once_flag once;
  static DataLayout layout;
  // call_once rethrows and retries on the next call, so an error is reported
  // by whoever asks, not swallowed.
  std::call_once(once, [] {
    layout = resolve_layout({env_path("RACEBISECT_DATA"), env_path("RACEBISECT_LIBEXEC"),
                             fs::read_symlink("/proc/self/exe")});
  });
  return layout;
}

fs::path guest_binary_dir() { return data_layout().libexec; }

fs::path init_binary() { return data_layout().libexec / "rb-init"; }

}  // namespace rb::run
