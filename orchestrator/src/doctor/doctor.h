// `racebisect doctor`: does this machine have what a run needs? Every check
// says what it found and, when something is wrong, how to fix it. The checks
// see the machine only through Host (programs, devices, /proc, free space,
// libvirt, the KVM probe), so a test can describe any machine -- no QEMU,
// /dev/kvm root-only, a full disk -- in a table; data files (case,
// fragments, patches, guest binaries) are always read for real.
//
// Severity: Fail = a run cannot work (exit 3); Warn = a run works but worse
// (TCG instead of KVM, no ccache, libvirt's default URI down while the qemu
// backend needs none of it; exit 0 unless strict); Skip = not applicable or
// not checked (no /dev/kvm at all, libvirt not installed, --no-probe).
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "run/paths.h"
#include "util/process.h"
#include "vm/accel.h"

namespace rb::doctor {

enum class Status { Ok, Skip, Warn, Fail };
const char* to_string(Status s);

struct Check {
  std::string id;       // stable key, e.g. "qemu", "libvirt" (see docs/ARCHITECTURE.md)
  std::string subject;  // what was checked: a path, a URI, a tool list
  Status status = Status::Ok;
  std::string summary;  // what was found
  std::string fix;      // how to fix it; empty when nothing to fix
};

struct DataFile {
  std::string role;  // "case", "fragment", "patch", "guest test", "init"
  std::filesystem::path path;
  bool found = false;
};

// Where the data was found and every file the case needs.
struct DataInfo {
  run::DataLayout layout;
  std::vector<DataFile> files;
};

struct Report {
  std::vector<Check> checks;
  DataInfo data;
  // 3 when a check failed (strict: or warned), else 0.
  int exit_code(bool strict) const;
  const Check* find(const std::string& id) const;
};

struct DeviceNode {
  bool exists = false;
  unsigned gid = 0;
  std::string group;  // group name; empty when the gid has none here (a
                      // container given the host's node with --group-add)
  unsigned mode = 0;  // permission bits
  bool usable = false;  // this user can open it read-write
};

// The machine as the checks see it.
class Host {
 public:
  virtual ~Host() = default;
  virtual std::filesystem::path find_program(const std::string& name) const = 0;
  // Bounded: a program that does not answer in time is killed (timed_out).
  virtual RunResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout) const = 0;
  virtual bool exists(const std::filesystem::path& p) const = 0;
  virtual std::string read(const std::filesystem::path& p) const = 0;  // "" if unreadable
  virtual DeviceNode device(const std::filesystem::path& p) const = 0;
  // Free bytes for an unprivileged writer on the filesystem holding `p` (or
  // its nearest existing ancestor).
  virtual std::optional<std::uint64_t> free_bytes(const std::filesystem::path& p) const = 0;
  // "" when this user can create files at `p` (or under its nearest existing
  // ancestor), else why not.
  virtual std::string writable(const std::filesystem::path& p) const = 0;
  // Boots a tiny guest under KVM with a cached kernel (vm/accel.h); nullopt
  // when no kernel is cached yet.
  virtual std::optional<vm::AccelChoice> probe_kvm(const std::filesystem::path& cache) const = 0;
  virtual int cores() const = 0;
  // The data layout (run/paths.h); throws rb::Error like data_layout().
  virtual run::DataLayout layout() const = 0;
};

std::unique_ptr<Host> make_real_host();

struct Options {
  std::filesystem::path case_file;  // empty: the default case
  std::vector<std::string> uris;    // --connect; empty: qemu:///system when libvirt is installed
  int jobs = 0;                     // parallel VMs planned; 0: cores / vCPUs, as reproduce
  bool probe = true;                // boot a tiny guest to see whether KVM works
  std::filesystem::path cache;      // the cache root
};

Report run_checks(const Options& o, const Host& h);

}  // namespace rb::doctor
