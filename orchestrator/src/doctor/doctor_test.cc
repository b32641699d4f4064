#include "doctor/doctor.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "util/error.h"
#include "util/fs.h"

namespace rb::doctor {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;

// A machine described by data. The default is a healthy one: every program,
// a usable /dev/kvm (group kvm, 0660) whose probe boots, libvirt reachable,
// plenty of memory and disk.
struct FakeHost : Host {
  std::map<std::string, fs::path> programs;
  std::map<std::string, RunResult> answers;  // by argv[1..] joined with spaces
  std::set<fs::path> files;
  std::string meminfo = "MemTotal: 24000000 kB\nMemAvailable:   20000000 kB\n";
  DeviceNode kvm{true, 994, "kvm", 0660, true};
  std::optional<std::uint64_t> free = 100 * kGiB;
  std::string not_writable;
  std::optional<vm::AccelChoice> probe = vm::AccelChoice{vm::Accel::Kvm, "KVM probe booted a guest in 1.2 s: using KVM"};
  int ncores = 2;
  std::function<run::DataLayout()> lay;
  mutable std::vector<std::string> ran;

  FakeHost() {
    for (const char* p : {"qemu-system-x86_64", "virsh", "make", "gcc", "flex", "bison", "bc", "perl", "tar", "xz", "lz4",
                          "ccache", "git"})
      programs[p] = fs::path("/usr/bin") / p;
    files = {"/usr/include/gelf.h", "/usr/src/linux-source-6.1.tar.xz", "/usr/sbin/libvirtd"};
    answers["--version"] = {0, false, "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u13)\nCopyright\n"};
    answers["-c qemu:///system version"] = {0, false, "Compiled against library: libvirt 9.0.0\nRunning hypervisor: QEMU 7.2.19\n"};
  }
  fs::path find_program(const std::string& n) const override {
    auto it = programs.find(n);
    return it == programs.end() ? fs::path() : it->second;
  }
  RunResult run(const std::vector<std::string>& argv, std::chrono::seconds) const override {
    std::string key;
    for (size_t i = 1; i < argv.size(); ++i) key += (i > 1 ? " " : "") + argv[i];
    ran.push_back(argv[0] + " " + key);
    if (argv[0].find("git") != std::string::npos) return {0, false, "git version 2.39.5\n"};
    auto it = answers.find(key);
    return it == answers.end() ? RunResult{1, false, "error: unexpected command " + key} : it->second;
  }
  bool exists(const fs::path& p) const override { return files.count(p) > 0; }
  std::string read(const fs::path& p) const override { return p == "/proc/meminfo" ? meminfo : ""; }
  DeviceNode device(const fs::path&) const override { return kvm; }
  std::optional<std::uint64_t> free_bytes(const fs::path&) const override { return free; }
  std::string writable(const fs::path&) const override { return not_writable; }
  std::optional<vm::AccelChoice> probe_kvm(const fs::path&) const override { return probe; }
  int cores() const override { return ncores; }
  run::DataLayout layout() const override { return lay(); }
};

// A real data directory with a small case, and a libexec dir with its
// binaries (empty files: nothing runs them here).
struct DataTree {
  TempDir tmp{fs::temp_directory_path(), "rb-doctor"};
  fs::path data = tmp.path() / "share", libexec = tmp.path() / "libexec";
  DataTree() {
    write_file_atomic(data / "cases" / "uffd-hugetlb.toml",
                      "name = \"seed\"\nsource = \"/usr/src/linux-source-6.1.tar.xz\"\n"
                      "fragments = [\"fragments/base.config\"]\n"
                      "[guest]\ntest = \"uffd-race\"\nvcpus = 2\nmemory_mb = 512\n"
                      "[[kernels]]\nlabel = \"unpatched\"\nrole = \"bug\"\npatches = [\"patches/revert.patch\"]\n"
                      "[[kernels]]\nlabel = \"patched\"\nrole = \"fixed\"\n");
    write_file_atomic(data / "fragments" / "base.config", "CONFIG_SMP=y\n");
    write_file_atomic(data / "patches" / "revert.patch", "--- a\n+++ b\n");
    write_file_atomic(libexec / "uffd-race", "");
    write_file_atomic(libexec / "rb-init", "");
  }
  run::DataLayout layout() const { return {data, libexec, "RACEBISECT_DATA", "RACEBISECT_LIBEXEC"}; }
};

struct Row {
  const char* name;
  std::function<void(FakeHost&, Options&, DataTree&)> setup;
  const char* id;           // the check to look at
  Status status;
  const char* found;        // substring of summary
  const char* fix;          // substring of fix ("" : fix must be empty)
  int exit_code;            // not strict
};

const Row kRows[] = {
    {"healthy qemu", [](FakeHost&, Options&, DataTree&) {}, "qemu", Status::Ok, "QEMU emulator version 7.2.19", "", 0},
    {"no qemu", [](FakeHost& h, Options&, DataTree&) { h.programs.erase("qemu-system-x86_64"); }, "qemu", Status::Fail,
     "not found", "apt-get install qemu-system-x86", 3},
    {"qemu --version fails", [](FakeHost& h, Options&, DataTree&) { h.answers["--version"] = {127, false, "libfoo.so: cannot open"}; },
     "qemu", Status::Fail, "libfoo.so", "reinstall", 3},
    {"accel skipped without qemu", [](FakeHost& h, Options&, DataTree&) { h.programs.erase("qemu-system-x86_64"); }, "accel",
     Status::Skip, "QEMU is missing", "", 3},
    {"kvm works", [](FakeHost&, Options&, DataTree&) {}, "accel", Status::Ok, "using KVM", "", 0},
    {"kvm probe falls back to tcg",
     [](FakeHost& h, Options&, DataTree&) {
       h.probe = vm::AccelChoice{vm::Accel::Tcg, "/dev/kvm exists but KVM cannot run a guest here (guest did not finish)"};
     },
     "accel", Status::Warn, "cannot run a guest here", "TCG runs every test", 0},
    {"no kernel cached to probe with", [](FakeHost& h, Options&, DataTree&) { h.probe.reset(); }, "accel", Status::Skip,
     "no kernel cached", "racebisect build --only patched", 0},
    {"probe disabled", [](FakeHost&, Options& o, DataTree&) { o.probe = false; }, "accel", Status::Skip, "--no-probe", "", 0},
    {"no /dev/kvm: accel", [](FakeHost& h, Options&, DataTree&) { h.kvm = {}; }, "accel", Status::Warn, "no /dev/kvm",
     "--device /dev/kvm", 0},
    {"no /dev/kvm: device", [](FakeHost& h, Options&, DataTree&) { h.kvm = {}; }, "kvm-device", Status::Skip, "TCG", "", 0},
    {"/dev/kvm root 0600", [](FakeHost& h, Options&, DataTree&) { h.kvm = {true, 0, "root", 0600, true}; }, "kvm-device",
     Status::Warn, "group root, mode 0600", "chgrp kvm /dev/kvm && chmod 0660 /dev/kvm", 0},
    {"/dev/kvm not ours", [](FakeHost& h, Options&, DataTree&) { h.kvm = {true, 994, "kvm", 0660, false}; }, "kvm-device",
     Status::Warn, "not usable", "--group-add", 0},
    {"/dev/kvm from the host in a container",
     [](FakeHost& h, Options&, DataTree&) { h.kvm = {true, 994, "", 0660, true}; }, "kvm-device", Status::Ok,
     "group gid 994 (no name here), mode 0660, usable", "", 0},
    {"/dev/kvm root-owned in a container", [](FakeHost& h, Options&, DataTree&) { h.kvm = {true, 0, "", 0600, true}; },
     "kvm-device", Status::Warn, "mode 0600", "chgrp kvm", 0},
    {"/dev/kvm fine", [](FakeHost&, Options&, DataTree&) {}, "kvm-device", Status::Ok, "group kvm, mode 0660, usable", "", 0},
    {"default uri reachable", [](FakeHost&, Options&, DataTree&) {}, "libvirt", Status::Ok, "hypervisor QEMU 7.2.19", "", 0},
    {"default uri down: only a warning",
     [](FakeHost& h, Options&, DataTree&) {
       h.answers["-c qemu:///system version"] = {1, false, "error: failed to connect to the hypervisor\nerror: Failed to connect socket"};
     },
     "libvirt", Status::Warn, "unreachable: error: Failed to connect socket", "scripts/start-libvirtd", 0},
    {"asked uri down: a failure",
     [](FakeHost& h, Options& o, DataTree&) {
       o.uris = {"qemu+ssh://root@localhost/system"};
       h.answers["-c qemu+ssh://root@localhost/system version"] = {1, false, "error: Cannot recv data: Connection reset"};
     },
     "libvirt", Status::Fail, "Connection reset", "remote libvirtd", 3},
    {"asked uri hangs",
     [](FakeHost& h, Options& o, DataTree&) {
       o.uris = {"qemu+ssh://slow/system"};
       h.answers["-c qemu+ssh://slow/system version"] = {-1, true, ""};
     },
     "libvirt", Status::Fail, "no answer within 15 s", "ssh keys", 3},
    {"asked uri without virsh",
     [](FakeHost& h, Options& o, DataTree&) {
       o.uris = {"qemu:///system"};
       h.programs.erase("virsh");
     },
     "libvirt", Status::Fail, "virsh not found", "libvirt-clients", 3},
    {"libvirt not installed",
     [](FakeHost& h, Options&, DataTree&) {
       h.programs.erase("virsh");
       h.files.erase("/usr/sbin/libvirtd");
     },
     "libvirt", Status::Skip, "not installed", "", 0},
    {"memory enough", [](FakeHost&, Options&, DataTree&) {}, "memory", Status::Ok, "768 MiB needed", "", 0},
    {"memory short for the default jobs",
     [](FakeHost& h, Options&, DataTree&) {
       h.ncores = 8;  // 4 VMs of 2 vCPUs
       h.meminfo = "MemAvailable:    2097152 kB\n";
     },
     "memory", Status::Fail, "3072 MiB needed, 2048 MiB available", "--jobs", 3},
    {"memory with --jobs", [](FakeHost& h, Options& o, DataTree&) { o.jobs = 3; h.meminfo = "MemAvailable: 2097152 kB\n"; },
     "memory", Status::Fail, "2304 MiB needed", "--memory-mb", 3},
    {"meminfo unreadable", [](FakeHost& h, Options&, DataTree&) { h.meminfo = ""; }, "memory", Status::Warn, "MemAvailable",
     "", 0},
    {"disk cold and small", [](FakeHost& h, Options&, DataTree&) { h.free = 2 * kGiB; }, "disk", Status::Fail,
     "2.0 GiB free, 3.0 GiB needed (cold cache)", "RACEBISECT_CACHE", 3},
    {"disk warm and small",
     [](FakeHost& h, Options& o, DataTree&) {
       h.free = 2 * kGiB;
       h.files.insert(o.cache / "src");
     },
     "disk", Status::Ok, "(warm cache)", "", 0},
    {"cache not writable", [](FakeHost& h, Options&, DataTree&) { h.not_writable = "Permission denied (/var/lib/racebisect)"; },
     "cache", Status::Fail, "Permission denied", "volume owned by the user", 3},
    {"build tools missing",
     [](FakeHost& h, Options&, DataTree&) {
       h.programs.erase("flex");
       h.files.erase("/usr/include/gelf.h");
     },
     "build-tools", Status::Fail, "missing: flex, /usr/include/gelf.h", "apt-get install flex libelf-dev", 3},
    {"no ccache: a warning", [](FakeHost& h, Options&, DataTree&) { h.programs.erase("ccache"); }, "ccache", Status::Warn,
     "not found", "apt-get install ccache", 0},
    {"no git", [](FakeHost& h, Options&, DataTree&) { h.programs.erase("git"); }, "git", Status::Fail, "not found",
     "apt-get install git", 3},
    {"git version", [](FakeHost&, Options&, DataTree&) {}, "git", Status::Ok, "git version 2.39.5", "", 0},
    {"source tarball missing", [](FakeHost& h, Options&, DataTree&) { h.files.erase("/usr/src/linux-source-6.1.tar.xz"); },
     "source", Status::Fail, "not found", "apt-get install linux-source-6.1", 3},
    {"data found", [](FakeHost&, Options&, DataTree&) {}, "data", Status::Ok, "5 files found", "", 0},
    {"data fragment missing", [](FakeHost&, Options&, DataTree& d) { fs::remove(d.data / "fragments" / "base.config"); },
     "data", Status::Fail, "missing: fragment", "reinstall", 3},
    {"guest test missing", [](FakeHost&, Options&, DataTree& d) { fs::remove(d.libexec / "uffd-race"); }, "data",
     Status::Fail, "missing: guest test", "reinstall", 3},
    {"no data at all",
     [](FakeHost& h, Options&, DataTree&) {
       h.lay = []() -> run::DataLayout { throw infra_error("racebisect's data directory (with cases/) not found"); };
     },
     "data", Status::Fail, "not found", "RACEBISECT_DATA", 3},
};

class DoctorTable : public ::testing::TestWithParam<Row> {};

TEST_P(DoctorTable, ReportsAndSaysHowToFix) {
  const Row& row = GetParam();
  DataTree tree;
  FakeHost h;
  h.lay = [&] { return tree.layout(); };
  Options o;
  o.cache = "/var/cache/racebisect";
  row.setup(h, o, tree);
  const Report r = run_checks(o, h);
  const Check* c = r.find(row.id);
  ASSERT_NE(c, nullptr) << row.id;
  EXPECT_EQ(to_string(c->status), std::string(to_string(row.status))) << c->summary;
  EXPECT_NE(c->summary.find(row.found), std::string::npos) << c->summary;
  if (*row.fix) {
    EXPECT_NE(c->fix.find(row.fix), std::string::npos) << c->fix;
  } else if (c->status == Status::Ok) {
    EXPECT_EQ(c->fix, "");
  }
  EXPECT_EQ(r.exit_code(false), row.exit_code);
  // Strict: any warning also exits 3.
  const bool warned = std::any_of(r.checks.begin(), r.checks.end(), [](const Check& k) { return k.status == Status::Warn; });
  EXPECT_EQ(r.exit_code(true), row.exit_code == 3 || warned ? 3 : 0);
}

INSTANTIATE_TEST_SUITE_P(Rows, DoctorTable, ::testing::ValuesIn(kRows), [](const auto& info) {
  std::string n = info.param.name;
  for (auto& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
});

TEST(Doctor, HealthyMachineHasNothingToFix) {
  DataTree tree;
  FakeHost h;
  h.lay = [&] { return tree.layout(); };
  const Report r = run_checks({{}, {}, 0, true, "/var/cache/racebisect"}, h);
  for (const auto& c : r.checks) EXPECT_EQ(c.status, Status::Ok) << c.id << ": " << c.summary;
  EXPECT_EQ(r.exit_code(true), 0);
}

TEST(Doctor, ListsEveryDataFileOfTheCaseOnce) {
  DataTree tree;
  FakeHost h;
  h.lay = [&] { return tree.layout(); };
  const Report r = run_checks({{}, {}, 0, true, "/c"}, h);
  std::vector<std::string> roles;
  for (const auto& f : r.data.files) {
    roles.push_back(f.role);
    EXPECT_TRUE(f.found) << f.path;
    EXPECT_EQ(f.path.string().rfind(tree.tmp.path().string(), 0), 0u) << f.path;
  }
  EXPECT_EQ(roles, (std::vector<std::string>{"case", "fragment", "patch", "guest test", "init"}));
}

TEST(Doctor, ChecksEveryAskedUriInOrder) {
  DataTree tree;
  FakeHost h;
  h.lay = [&] { return tree.layout(); };
  h.answers["-c qemu+ssh://root@localhost/system version"] = {0, false, "Running hypervisor: QEMU 7.2.19\n"};
  Options o{{}, {"qemu:///system", "qemu+ssh://root@localhost/system"}, 0, true, "/c"};
  const Report r = run_checks(o, h);
  std::vector<std::string> uris;
  for (const auto& c : r.checks)
    if (c.id == "libvirt") uris.push_back(c.subject);
  EXPECT_EQ(uris, o.uris);
}

TEST(Doctor, NoProbeMeansNoBoot) {
  DataTree tree;
  FakeHost h;
  h.lay = [&] { return tree.layout(); };
  bool probed = false;
  struct Spy : FakeHost {
    bool* hit;
    std::optional<vm::AccelChoice> probe_kvm(const fs::path& c) const override {
      *hit = true;
      return FakeHost::probe_kvm(c);
    }
  } spy;
  spy.hit = &probed;
  spy.lay = [&] { return tree.layout(); };
  run_checks({{}, {}, 0, false, "/c"}, spy);
  EXPECT_FALSE(probed);
  run_checks({{}, {}, 0, true, "/c"}, spy);
  EXPECT_TRUE(probed);
}

}  // namespace
}  // namespace rb::doctor
