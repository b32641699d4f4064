#include "kernel/build.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "kernel/config.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"

namespace rb::kernel {

namespace {

// Fixed build metadata makes identical sources give byte-identical images,
// which is how a no-op culprit (comment-only commit) is recognised.
const std::map<std::string, std::string> kReproducibleEnv = {
    {"KBUILD_BUILD_TIMESTAMP", "Thu Jan  1 00:00:00 UTC 1970"},
    {"KBUILD_BUILD_USER", "racebisect"},
    {"KBUILD_BUILD_HOST", "racebisect"},
    {"KBUILD_BUILD_VERSION", "1"},
};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string compiler_version() {
  static const std::string v = [] {
    RunResult r = run_process({"gcc", "--version"});
    std::string first = r.output.substr(0, r.output.find('\n'));
    return first;
  }();
  return v;
}

Builder::Builder(fs::path cache, int jobs)
    : cache_(std::move(cache)), jobs_(jobs > 0 ? jobs : static_cast<int>(std::thread::hardware_concurrency())) {}

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
  if (fs::exists(a.dir / "meta.json")) {
    auto meta = nlohmann::json::parse(read_file(a.dir / "meta.json"));
    a.bzimage_sha256 = meta.value("bzimage_sha256", "");
    a.cache_hit = true;
    a.seconds = since(t0);
    spdlog::info("[{}] kernel cache hit {}", spec.label, a.key);
    return a;
  }

  // One build at a time per work tree; the build dir is keyed by the tree
  // and the config inputs (not the patches), so patch sets and bisect steps
  // share it and rebuild incrementally.
  FileLock lock(cache_ / "locks" / (ws.id() + ".lock"));
  Sha256 ch;
  ch.field(spec.base);
  for (const auto& f : spec.fragments) ch.field(read_file(f));
  const fs::path bdir = cache_ / "build" / (ws.id() + "-" + ch.hex().substr(0, 12));
  fs::create_directories(bdir);
  TempDir out(cache_ / "kernels", a.key + ".partial");
  const fs::path log = out.path() / "build.log";

  spdlog::info("[{}] building kernel {} ({}; {} patch(es)) in {}", spec.label, a.key, ws.identity(),
               spec.patches.size(), bdir.string());
  ws.checkout(spec.patches);

  ProcessOptions po{.cwd = ws.tree(), .output = log, .env = kReproducibleEnv};
  if (!find_program("ccache").empty()) po.env["CCACHE_DIR"] = (cache_ / "ccache").string();
  std::vector<std::string> make{"make", "-s", "O=" + bdir.string()};
  if (!find_program("ccache").empty()) make.push_back("CC=ccache gcc");
  auto step = [&](std::vector<std::string> extra, const std::string& what) {
    std::vector<std::string> argv = make;
    argv.insert(argv.end(), extra.begin(), extra.end());
    RunResult r = run_process(argv, po);
    if (r.exit_code != 0)
      throw infra_error("[" + spec.label + "] " + what + " failed (exit " + std::to_string(r.exit_code) +
                        "); log " + log.string() + ", last lines:\n" + read_tail(log, 3000));
  };

  // Base config, then the fragments appended (later lines win), then
  // olddefconfig resolves dependencies -- and may silently drop options.
  step({spec.base}, "make " + spec.base);
  std::string merged = read_file(bdir / ".config");
  for (const auto& f : spec.fragments) merged += "\n# racebisect fragment " + f.filename().string() + "\n" + read_file(f);
  write_file_atomic(bdir / ".config", merged);
  step({"olddefconfig"}, "make olddefconfig");
  const std::string final_config = read_file(bdir / ".config");
  auto mismatches = verify_config(wanted, parse_dotconfig(final_config), ws.tree());
  if (!mismatches.empty()) {
    std::string msg = "[" + spec.label + "] kernel config does not have what the fragments ask for:";
    for (const auto& m : mismatches) msg += "\n  " + m.describe();
    throw usage_error(msg);
  }

  step({"-j" + std::to_string(jobs_), "bzImage"}, "kernel build");
  fs::copy_file(bdir / "arch/x86/boot/bzImage", out.path() / "bzImage");
  write_file_atomic(out.path() / "config", final_config);
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
  write_file_atomic(out.path() / "meta.json", meta.dump(2));
  out.commit_to(a.dir);
  spdlog::info("[{}] built {} in {:.1f} s", spec.label, a.key, a.seconds);
  return a;
}

}  // namespace rb::kernel
