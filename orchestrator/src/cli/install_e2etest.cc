// The installed tool: `cmake --install` into a temporary prefix, then the
// installed binary runs from another directory inside a private mount
// namespace where the source tree and the build tree are hidden under empty
// tmpfs mounts. Any path into either tree that survives in the binary (a
// compiled-in source dir, a guest binary left in build/) makes these fail.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "util/fs.h"
#include "util/process.h"

namespace rb {
namespace {

const fs::path kSource = fs::weakly_canonical(RB_SOURCE_DIR);
const fs::path kBuild = fs::weakly_canonical(RB_BUILD_DIR);

bool under(const fs::path& p, const fs::path& dir) {
  const auto rel = fs::weakly_canonical(p).lexically_relative(fs::weakly_canonical(dir));
  return !rel.empty() && *rel.begin() != "..";
}

// A prefix outside both trees, so hiding them does not hide the install.
struct Install {
  TempDir dir{fs::temp_directory_path(), "rb-install"};
  fs::path prefix = dir.path() / "prefix";
  Install() { run_checked({RB_CMAKE, "--install", kBuild.string(), "--prefix", prefix.string()}); }
};

struct Ran {
  int code = -1;
  std::string out;
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  ::_exit(126);
}

// Child side: hide the trees, move the kernel cache (which may live in the
// build tree) to `cache_mount`, then exec the installed binary in `cwd`.
[[noreturn]] void exec_hidden(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& out,
                              const fs::path& cache, const fs::path& cache_mount) {
  if (::unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS)");
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("mount --make-rprivate /");
  fs::create_directories(cache_mount);
  if (::mount(cache.c_str(), cache_mount.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) die("bind cache");
  // Build first: it is often inside the source tree and vanishes with it.
  for (const fs::path& d : {kBuild, kSource})
    if (fs::is_directory(d) && ::mount("rb-hidden", d.c_str(), "tmpfs", MS_RDONLY, "size=4k") != 0) die("hide tree");
  ::setenv("RACEBISECT_CACHE", cache_mount.c_str(), 1);
  ::unsetenv("RACEBISECT_DATA");
  ::unsetenv("RACEBISECT_LIBEXEC");
  if (::chdir(cwd.c_str()) != 0) die("chdir");
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) die("redirect");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  die("execv");
}

Ran run_hidden(const Install& inst, std::vector<std::string> args, const fs::path& cwd) {
  const fs::path out = cwd / "output.txt";
  const fs::path cache = std::getenv("RACEBISECT_CACHE") ? fs::path(std::getenv("RACEBISECT_CACHE"))
                                                          : fs::path(RB_E2E_WORK) / "install-cache";
  fs::create_directories(cache);
  args.insert(args.begin(), (inst.prefix / "bin" / "racebisect").string());
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) exec_hidden(args, cwd, out, cache, inst.dir.path() / "cache");
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out)};
}

TEST(Install, LaysOutBinaryGuestBinariesAndData) {
  Install inst;
  const fs::path& p = inst.prefix;
  for (const char* f : {"bin/racebisect", "libexec/racebisect/uffd-race", "libexec/racebisect/rb-init",
                        "share/racebisect/cases/uffd-hugetlb.toml", "share/racebisect/fragments/base.config",
                        "share/racebisect/fragments/uffd-hugetlb.config",
                        "share/racebisect/patches/revert-hugetlb-uffd-recheck.patch"})
    EXPECT_TRUE(fs::is_regular_file(p / f)) << f;
  // Tests, benchmarks and sources are not part of the install.
  for (const char* f : {"bin/racebisect_unit", "bin/racebisect_e2e", "bin/bisect_sim"})
    EXPECT_FALSE(fs::exists(p / f)) << f;
}

TEST(Install, DoctorFindsEveryDataFileUnderThePrefix) {
  Install inst;
  TempDir cwd(fs::temp_directory_path(), "rb-elsewhere");
  Ran r = run_hidden(inst, {"doctor", "--no-probe", "--json", (cwd.path() / "d.json").string()}, cwd.path());
  ASSERT_TRUE(r.code == 0 || r.code == 3) << r.out;
  const auto j = nlohmann::json::parse(read_file(cwd.path() / "d.json"));
  EXPECT_EQ(fs::path(j["data"]["data"].get<std::string>()), inst.prefix / "share" / "racebisect");
  EXPECT_EQ(fs::path(j["data"]["libexec"].get<std::string>()), inst.prefix / "libexec" / "racebisect");
  ASSERT_GE(j["data"]["files"].size(), 5u) << j.dump(2);  // case, 2 fragments, patch, guest test, init
  for (const auto& f : j["data"]["files"]) {
    const fs::path path = f["path"].get<std::string>();
    EXPECT_TRUE(f["found"].get<bool>()) << path;
    EXPECT_TRUE(under(path, inst.prefix)) << path;
    EXPECT_FALSE(under(path, kSource)) << path;
  }
}

// The issue's "done when": the installed binary reproduces from another
// directory. Tiny counts; the kernels come from the shared e2e cache.
TEST(Install, InstalledBinaryReproducesFromAnotherDirectory) {
  Install inst;
  TempDir cwd(fs::temp_directory_path(), "rb-elsewhere");
  Ran r = run_hidden(inst,
                     {"reproduce", "--boots", "1", "--trials", "2", "--duration-ms", "2000", "--out",
                      (cwd.path() / "bundle").string(), "--json", (cwd.path() / "r.json").string()},
                     cwd.path());
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.out;  // reproduced or not: both are verdicts
  const auto j = nlohmann::json::parse(read_file(cwd.path() / "r.json"));
  ASSERT_EQ(j["kernels"].size(), 2u);
  for (const auto& k : j["kernels"]) {
    EXPECT_EQ(k["infra_errors"].get<int>(), 0) << k.dump();
    EXPECT_GE(k["trials"].get<int>(), 2) << k.dump();
    if (k["label"] == "patched") {
      EXPECT_EQ(k["failures"].get<int>(), 0) << k.dump();
    }
  }
  EXPECT_TRUE(fs::exists(cwd.path() / "bundle" / "case.toml"));
}

// Every path the Dockerfile copies out of its build stage must exist after
// `cmake --install` into the prefix the Dockerfile uses (with DESTDIR), and
// its entrypoint must be the installed binary: the image build itself is too
// slow for CI (scripts/make-image), this keeps the two from drifting apart.
TEST(Dockerfile, CopiesOnlyWhatCmakeInstalls) {
  const std::string text = read_file(kSource / "Dockerfile");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(ARG PREFIX=(\S+))"))) << "Dockerfile declares no ARG PREFIX";
  const std::string prefix = m[1];
  TempDir dest(fs::temp_directory_path(), "rb-destdir");
  ProcessOptions po;
  po.env["DESTDIR"] = dest.path().string();
  run_checked({RB_CMAKE, "--install", kBuild.string(), "--prefix", prefix}, po);
  const std::regex copy(R"(COPY --from=build (\S+) (\S+))");
  int copies = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), copy); it != std::sregex_iterator(); ++it, ++copies) {
    std::string src = (*it)[1];
    src = std::regex_replace(src, std::regex(R"(\$\{?PREFIX\}?)"), prefix);
    EXPECT_TRUE(fs::exists(dest.path() / fs::path(src).relative_path())) << src << " is not installed";
  }
  EXPECT_GT(copies, 0) << "no COPY --from=build in the Dockerfile";
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(ENTRYPOINT \[\"([^\"]+)\")")));
  const std::string entry = std::regex_replace(std::string(m[1]), std::regex(R"(\$\{?PREFIX\}?)"), prefix);
  EXPECT_EQ(entry, prefix + "/bin/racebisect");
  EXPECT_TRUE(fs::is_regular_file(dest.path() / fs::path(entry).relative_path())) << entry;
}

// The image builds from the same -dev packages as a machine set up by
// scripts/bootstrap: libxml2-dev was added there and not here, and the
// image stopped building.
TEST(Dockerfile, BuildsWithEveryDevPackageBootstrapInstalls) {
  const std::string docker = read_file(kSource / "Dockerfile");
  const std::string bootstrap = read_file(kSource / "scripts/bootstrap");
  const std::regex dev(R"(\blib[a-z0-9.+-]*-dev\b)");
  int packages = 0;
  for (auto it = std::sregex_iterator(bootstrap.begin(), bootstrap.end(), dev); it != std::sregex_iterator(); ++it, ++packages)
    EXPECT_TRUE(std::regex_search(docker, std::regex("\\b" + it->str() + "\\b"))) << it->str() << " is not in the Dockerfile";
  EXPECT_GT(packages, 5);
}

}  // namespace
}  // namespace rb
