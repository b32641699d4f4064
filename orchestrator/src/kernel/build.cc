#include "kernel/build.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "kernel/config.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"

namespace rb::kernel {

namespace {

constexpr uintmax_t kFirstBuildBytes = 1ull << 30;

// Fixed build metadata makes identical sources give byte-identical images,
// which is how a no-op culprit (comment-only commit) is recognised.
const std::map<std::string, std::string> kReproducibleEnv = {
    {"KBUILD_BUILD_TIMESTAMP", "Thu Jan  1 00:00:00 UTC 1970"},
    {"KBUILD_BUILD_USER", "racebisect"},
    {"KBUILD_BUILD_HOST", "racebisect"},
    {"KBUILD_BUILD_VERSION", "1"},
};

// Present in a build directory while a build runs there: if it is still
// there when the next build starts, the last one was killed.
constexpr const char* kInProgress = ".racebisect-build-in-progress";

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The entry's recorded bzImage hash if the entry is whole and matches it,
// else nullopt with the reason.
std::optional<std::string> verify_entry(const fs::path& dir, const std::string& key, std::string& why) {
  std::error_code ec;
  if (!fs::exists(dir / "meta.json", ec)) {
    why = "no meta.json";
    return std::nullopt;
  }
  try {
    const auto meta = nlohmann::json::parse(read_file(dir / "meta.json"));
    const std::string sha = meta.value("bzimage_sha256", "");
    if (meta.value("key", "") != key) why = "meta.json is for another key";
    else if (sha.empty()) why = "meta.json has no bzimage_sha256";
    else if (!fs::exists(dir / "bzImage") || !fs::exists(dir / "config")) why = "bzImage or config missing";
    else if (sha256_file(dir / "bzImage") != sha) why = "bzImage does not match its recorded sha256";
    else return sha;
  } catch (const std::exception& e) {
    why = std::string("unreadable meta.json (") + e.what() + ")";
  }
  return std::nullopt;
}

}  // namespace

std::string compiler_version() {
  static const std::string v = [] {
    RunResult r = run_process({"gcc", "--version"}, {}, std::chrono::seconds(60));
    std::string first = r.output.substr(0, r.output.find('\n'));
    return first;
  }();
  return v;
}

int remove_interrupted_outputs(const fs::path& build_dir) {
  int removed = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(build_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (!it->is_regular_file() || name.size() < 6 || name[0] != '.' || !name.ends_with(".cmd")) continue;
    const fs::path output = p.parent_path() / name.substr(1, name.size() - 5);
    std::error_code e1, e2;
    const auto out_time = fs::last_write_time(output, e1);
    const auto cmd_time = fs::last_write_time(p, e2);
    if (e1 || e2 || out_time <= cmd_time) continue;
    std::error_code rm;
    if (fs::remove(output, rm)) ++removed;
  }
  return removed;
}

Builder::Builder(fs::path cache, int jobs, BuildLimits limits)
    : cache_(std::move(cache)),
      jobs_(jobs > 0 ? jobs : static_cast<int>(std::thread::hardware_concurrency())),
      limits_(limits) {
  if (std::error_code ec; fs::is_directory(cache_ / "build", ec))
    spdlog::info("{} holds build directories of an older racebisect (they now live in each work tree): "
                 "nothing reads them, delete it to free the space",
                 (cache_ / "build").string());
}

std::string Builder::cache_key(const KernelSpec& spec, const Workspace& ws) const {
  Sha256 h;
  h.field("racebisect-kernel-v1").field(ws.identity()).field(spec.base).field(compiler_version());
  for (const auto& p : spec.patches) {
    if (!fs::exists(p)) throw usage_error("patch not found: " + p.string());
    h.field("patch").field(read_file(p));
  }
  for (const auto& f : spec.fragments) {
    if (!fs::exists(f)) throw usage_error("config fragment not found: " + f.string());
    h.field("fragment").field(read_file(f));
  }
  return h.hex().substr(0, 32);
}

std::optional<int> cached_kernel_hz(const fs::path& bzimage) {
  const auto config = bzimage.parent_path() / "config";  // the layout of Builder::build
  std::error_code ec;
  if (bzimage.filename() != "bzImage" || !fs::is_regular_file(config, ec)) return std::nullopt;
  return config_hz(read_file(config));
}

BuildArtifact Builder::build(const KernelSpec& spec) {
  const auto t0 = std::chrono::steady_clock::now();
  // Parse fragments first: a typo fails in milliseconds, not after a build.
  std::vector<ConfigOption> wanted;
  for (const auto& f : spec.fragments) {
    auto opts = load_fragment(f);
    wanted.insert(wanted.end(), opts.begin(), opts.end());
  }
  Workspace ws(spec.source, cache_);
  BuildArtifact a;
  a.key = cache_key(spec, ws);
  a.source_identity = ws.identity();
  a.dir = cache_ / "kernels" / a.key;
  a.bzimage = a.dir / "bzImage";
  a.config = a.dir / "config";
  a.log = a.dir / "build.log";
  auto hit = [&]() -> std::optional<BuildArtifact> {
    std::string why;
    auto sha = verify_entry(a.dir, a.key, why);
    if (!sha) return std::nullopt;
    BuildArtifact h = a;
    h.bzimage_sha256 = *sha;
    h.hz = config_hz(read_file(a.config));
    h.cache_hit = true;
    h.seconds = since(t0);
    spdlog::info("[{}] kernel cache hit {}", spec.label, a.key);
    return h;
  };
  if (auto h = hit()) return *h;

  // One build at a time per work tree; the build dir is keyed by the tree
  // and the config inputs (not the patches), so patch sets and bisect steps
  // share it and rebuild incrementally.
  FileLock lock(ws.lock_path(), "building kernel " + a.key + " (" + spec.label + ")", limits_.lock);
  // Someone may have built it while we waited for the lock.
  if (auto h = hit()) return *h;
  std::error_code ec;
  if (fs::exists(a.dir, ec)) {
    if (auto h = hit()) return *h;  // committed meanwhile by a clone of the same tree (another lock)
    std::string why;
    verify_entry(a.dir, a.key, why);
    const fs::path q = quarantine(a.dir);
    spdlog::warn("[{}] cache entry {} is unusable ({}): moved to {}, rebuilding", spec.label, a.key, why, q.string());
  }
  remove_stale_temp_dirs(cache_ / "kernels", ".partial");
  try {
    return build_locked(spec, ws, wanted, a, t0);
  } catch (const fs::filesystem_error& e) {
    // Disk full, permissions: the machinery, named with its paths.
    throw infra_error("[" + spec.label + "] kernel build: " + e.what());
  }
}

BuildArtifact Builder::build_locked(const KernelSpec& spec, const Workspace& ws,
                                    const std::vector<ConfigOption>& wanted, BuildArtifact a,
                                    std::chrono::steady_clock::time_point t0) {
  Sha256 ch;
  ch.field(spec.base);
  for (const auto& f : spec.fragments) ch.field(read_file(f));
  // Inside the tree, one level down: kbuild then names the sources "../mm/x.c"
  // (and ccache's base_dir makes any absolute path under the tree relative),
  // so every compiler command is the same in every tree of the same source
  // and a new clone's or bisection's first build comes from ccache.
  const fs::path bdir = ws.tree() / (std::string(kBuildDirPrefix) + ch.hex().substr(0, 12));
  // A first build writes 0.15 GB for tinyconfig, far more for a distro
  // config; later builds there are incremental.
  if (!fs::exists(bdir)) require_free_space(ws.tree(), kFirstBuildBytes, "[" + spec.label + "] building a kernel");
  fs::create_directories(bdir);
  if (fs::exists(bdir / kInProgress)) {
    const int n = remove_interrupted_outputs(bdir);
    spdlog::warn("[{}] the last build in {} was interrupted: removed {} output(s) it may have cut short", spec.label,
                 bdir.string(), n);
  }
  write_file_atomic(bdir / kInProgress, "");
  TempDir out(cache_ / "kernels", a.key + ".partial");
  const fs::path log = out.path() / "build.log";

  spdlog::info("[{}] building kernel {} ({}; {} patch(es)) in {}", spec.label, a.key, ws.identity(),
               spec.patches.size(), bdir.string());
  ws.checkout(spec.patches);

  ProcessOptions po{.cwd = ws.tree(), .output = log, .env = kReproducibleEnv, .what = {}};
  if (!find_program("ccache").empty()) {
    po.env["CCACHE_DIR"] = (cache_ / "ccache").string();
    po.env["CCACHE_BASEDIR"] = ws.tree().string();
  }
  std::vector<std::string> make{"make", "-s", "O=" + bdir.string()};
  if (!find_program("ccache").empty()) make.push_back("CC=ccache gcc");
  auto step = [&](std::vector<std::string> extra, const std::string& what, std::chrono::seconds limit) {
    std::vector<std::string> argv = make;
    argv.insert(argv.end(), extra.begin(), extra.end());
    po.what = "[" + spec.label + "] " + what;
    RunResult r = run_process(argv, po, limit);
    if (r.timed_out)
      throw infra_error("[" + spec.label + "] " + what + " timed out after " + std::to_string(limit.count()) +
                        " s; log " + log.string() + ", last lines:\n" + read_tail(log, 3000));
    if (r.exit_code != 0)
      throw infra_error("[" + spec.label + "] " + what + " failed (exit " + std::to_string(r.exit_code) +
                        "); log " + log.string() + ", last lines:\n" + read_tail(log, 3000));
  };

  // Base config, then the fragments appended (later lines win), then
  // olddefconfig resolves dependencies -- and may silently drop options.
  step({spec.base}, "make " + spec.base, limits_.config);
  std::string merged = read_file(bdir / ".config");
  for (const auto& f : spec.fragments) merged += "\n# racebisect fragment " + f.filename().string() + "\n" + read_file(f);
  write_file_atomic(bdir / ".config", merged);
  step({"olddefconfig"}, "make olddefconfig", limits_.config);
  const std::string final_config = read_file(bdir / ".config");
  auto mismatches = verify_config(wanted, parse_dotconfig(final_config), ws.tree());
  if (!mismatches.empty()) {
    std::string msg = "[" + spec.label + "] kernel config does not have what the fragments ask for:";
    for (const auto& m : mismatches) msg += "\n  " + m.describe();
    throw usage_error(msg);
  }

  step({"-j" + std::to_string(jobs_), "bzImage"}, "kernel build", limits_.build);
  fs::remove(bdir / kInProgress);
  fs::copy_file(bdir / "arch/x86/boot/bzImage", out.path() / "bzImage");
  write_file_atomic(out.path() / "config", final_config);
  a.hz = config_hz(final_config);
  a.bzimage_sha256 = sha256_file(out.path() / "bzImage");
  a.seconds = since(t0);
  nlohmann::json meta = {
      {"key", a.key},
      {"label", spec.label},
      {"source_identity", ws.identity()},
      {"commit", ws.commit()},
      {"base", spec.base},
      {"compiler", compiler_version()},
      {"bzimage_sha256", a.bzimage_sha256},
      {"build_seconds", a.seconds},
  };
  for (const auto& p : spec.patches) meta["patches"].push_back({{"path", p.string()}, {"sha256", sha256_file(p)}});
  for (const auto& f : spec.fragments) meta["fragments"].push_back({{"path", f.string()}, {"sha256", sha256_file(f)}});
  // meta.json last: an entry without it is never served.
  write_file_atomic(out.path() / "meta.json", meta.dump(2));
  if (!out.commit_to(a.dir)) {
    // Another tree with the same contents (a second clone) committed first:
    // the same inputs, so the same kernel; serve the one in place.
    std::string why;
    auto sha = verify_entry(a.dir, a.key, why);
    if (!sha) throw infra_error("[" + spec.label + "] cache entry " + a.dir.string() + " appeared but is unusable: " + why);
    a.bzimage_sha256 = *sha;
  }
  spdlog::info("[{}] built {} in {:.1f} s", spec.label, a.key, a.seconds);
  return a;
}

}  // namespace rb::kernel
