// The real machine behind doctor::Host: syscalls, /proc, child processes
// (argv only, bounded by a timeout), and the KVM probe of vm/accel.h.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "doctor/doctor.h"
#include "image/initramfs.h"
#include "util/error.h"

namespace rb::doctor {

namespace {

namespace fs = std::filesystem;

// The path itself if it exists, else its nearest existing ancestor: what a
// run would create its cache under.
fs::path nearest_existing(fs::path p) {
  p = fs::absolute(p);
  std::error_code ec;
  while (!fs::exists(p, ec) && p.has_parent_path() && p != p.parent_path()) p = p.parent_path();
  return p;
}

// The most recently built kernel in the artifact cache: any racebisect
// kernel boots the probe's initramfs (rb.test=none).
std::optional<fs::path> newest_cached_kernel(const fs::path& cache) {
  std::optional<fs::path> best;
  fs::file_time_type best_time{};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache / "kernels", ec)) {
    const fs::path bz = e.path() / "bzImage";
    if (!fs::is_regular_file(bz, ec)) continue;
    const auto t = fs::last_write_time(bz, ec);
    if (!best || t > best_time) best = bz, best_time = t;
  }
  return best;
}

class RealHost : public Host {
 public:
  fs::path find_program(const std::string& name) const override { return rb::find_program(name); }

  RunResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout) const override {
    try {
      return run_process(argv, {}, timeout);
    } catch (const Error& e) {
      return {-1, false, e.what()};
    }
  }

  bool exists(const fs::path& p) const override {
    std::error_code ec;
    return fs::exists(p, ec);
  }

  std::string read(const fs::path& p) const override {
    std::ifstream in(p);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  DeviceNode device(const fs::path& p) const override {
    DeviceNode d;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return d;
    d.exists = true;
    d.mode = st.st_mode & 07777;
    const struct group* g = ::getgrgid(st.st_gid);
    d.gid = st.st_gid;
    d.group = g ? g->gr_name : "";
    const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
    d.usable = fd >= 0;
    if (fd >= 0) ::close(fd);
    return d;
  }

  std::optional<std::uint64_t> free_bytes(const fs::path& p) const override {
    struct statvfs v {};
    if (::statvfs(nearest_existing(p).c_str(), &v) != 0) return std::nullopt;
    return static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
  }

  std::string writable(const fs::path& p) const override {
    const fs::path at = nearest_existing(p);
    if (::access(at.c_str(), W_OK) == 0) return "";
    return std::string(std::strerror(errno)) + " (" + at.string() + ")";
  }

  std::optional<vm::AccelChoice> probe_kvm(const fs::path& cache) const override {
    const auto kernel = newest_cached_kernel(cache);
    if (!kernel) return std::nullopt;
    const auto img = image::build_initramfs({run::init_binary(), {}}, cache);
    return vm::resolve_accel(vm::Accel::Auto, *kernel, img.path, cache / "doctor");
  }

  int cores() const override { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

  run::DataLayout layout() const override { return run::data_layout(); }
};

}  // namespace

std::unique_ptr<Host> make_real_host() { return std::make_unique<RealHost>(); }

}  // namespace rb::doctor
