// The pool of VM hosts for real: `reproduce` over two libvirt URIs that reach
// this machine by different paths -- qemu:///system (the local socket) and
// qemu+ssh://root@localhost:PORT/system through an sshd this test starts on
// loopback with keys it makes -- and the ssh path killed mid-run. The boot
// that was on it must run again on the other host, the host must be reported
// down, and the run must still reach its verdict. Needs libvirtd
// (scripts/start-libvirtd) and openssh-server; kernels from $RACEBISECT_CACHE.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "util/fs.h"
#include "util/process.h"

namespace rb {
namespace {

// A free loopback port (the kernel picks it; it stays free long enough).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// Every process below `pid` (sshd's per-connection children are in sessions
// of their own, out of its process group).
std::vector<int> descendants(int pid) {
  std::map<int, std::vector<int>> children;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat) || stat.rfind(')') == std::string::npos) continue;
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    children[ppid].push_back(std::stoi(name));
  }
  std::vector<int> out, todo{pid};
  while (!todo.empty()) {
    const int p = todo.back();
    todo.pop_back();
    for (int c : children[p]) {
      out.push_back(c);
      todo.push_back(c);
    }
  }
  return out;
}

// sshd on 127.0.0.1:port with a host key and a client key made here; the
// known_hosts line that ssh adds for [localhost]:port is removed at the end.
class Sshd {
 public:
  explicit Sshd(const fs::path& dir) : dir_(dir), port_(free_port()) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::create_directories("/run/sshd");  // privilege separation directory
    for (const char* key : {"hostkey", "client"})
      run_checked({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (dir_ / key).string()});
    fs::copy_file(dir_ / "client.pub", dir_ / "authorized_keys");
    write_file_atomic(dir_ / "sshd_config",
                      "Port " + std::to_string(port_) + "\nListenAddress 127.0.0.1\nHostKey " +
                          (dir_ / "hostkey").string() + "\nAuthorizedKeysFile " + (dir_ / "authorized_keys").string() +
                          "\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                          "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile " +
                          (dir_ / "sshd.pid").string() + "\n");
    proc_ = std::make_unique<Process>(
        std::vector<std::string>{find_program("sshd").empty() ? "/usr/sbin/sshd" : find_program("sshd").string(), "-D",
                                 "-e", "-f", (dir_ / "sshd_config").string()},
        ProcessOptions{.output = dir_ / "sshd.log"});
    for (int i = 0; i < 300 && proc_->running() && !accepts(port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ~Sshd() {
    kill();
    run_process({"ssh-keygen", "-R", "[localhost]:" + std::to_string(port_)});
    fs::remove(fs::path(std::getenv("HOME") ? std::getenv("HOME") : "/root") / ".ssh/known_hosts.old");
  }
  bool up() { return proc_ && proc_->running() && accepts(port_); }
  std::string uri() const {
    return "qemu+ssh://root@localhost:" + std::to_string(port_) + "/system?keyfile=" + (dir_ / "client").string() +
           "&no_verify=1&no_tty=1";
  }
  // The host's path dies: the listener and every session it serves.
  void kill() {
    if (!proc_) return;
    for (int pid : descendants(proc_->pid())) ::kill(pid, SIGKILL);
    proc_->kill();
    proc_->wait();
    proc_.reset();
  }
  const fs::path& log() const { return dir_; }

 private:
  fs::path dir_;
  int port_;
  std::unique_ptr<Process> proc_;
};

std::vector<std::string> racebisect_domains() {
  const RunResult r = run_process({"virsh", "-c", "qemu:///system", "list", "--all", "--name"});
  std::vector<std::string> out;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("racebisect-", 0) == 0) out.push_back(line);
  return out;
}

TEST(Fleet, PoolOfTwoUrisSurvivesLosingOne) {
  ASSERT_EQ(run_process({RB_E2E_SOURCE_DIR "/scripts/start-libvirtd"}).exit_code, 0);
  const fs::path dir = fs::path(RB_E2E_WORK) / "fleet";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Sshd sshd(dir / "ssh");
  ASSERT_TRUE(sshd.up()) << read_file(dir / "ssh/sshd.log");
  // The ssh path works before the run (so its failure below is ours).
  const RunResult probe = run_process({"virsh", "-c", sshd.uri(), "uri"}, {}, std::chrono::seconds(60));
  ASSERT_EQ(probe.exit_code, 0) << probe.output;

  // Fixed design, 3 boots per kernel over one slot on each host.
  const int boots = 3;
  const fs::path log = dir / "run.log";
  const std::vector<std::string> argv{
      RB_BINARY, "-v", "reproduce", "--connect", "qemu:///system", "--connect", sshd.uri(), "--design", "fixed",
      "--boots", std::to_string(boots), "--trials", "2", "--duration-ms", "2000", "--accel", "tcg",
      "--out", (dir / "bundle").string(), "--json", (dir / "r.json").string()};
  Process run(argv, {.output = log});
  // Kill the ssh path once a domain runs through it (the -v log says so):
  // that boot loses its connection in the middle.
  const std::string on_ssh = "running on " + sshd.uri();
  while (run.running() && read_file(log).find(on_ssh) == std::string::npos)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(run.running()) << read_file(log);
  sshd.kill();
  const int code = run.wait();
  const std::string out = read_file(log);
  ASSERT_TRUE(code == 0 || code == 1) << "no verdict (exit " << code << "):\n" << out;

  const auto j = nlohmann::json::parse(read_file(dir / "r.json"));
  EXPECT_NE(j["verdict"]["kind"], "infrastructure_error") << j["verdict"].dump();
  // The ssh host is reported down, the local one is not.
  ASSERT_EQ(j["hosts"].size(), 2u);
  EXPECT_EQ(j["hosts"][0]["uri"], "qemu:///system");
  EXPECT_FALSE(j["hosts"][0]["down"].get<bool>());
  EXPECT_EQ(j["hosts"][1]["uri"], sshd.uri());
  EXPECT_TRUE(j["hosts"][1]["down"].get<bool>()) << j["hosts"].dump();
  EXPECT_EQ(j["boots_not_run"], 0);
  // Every planned boot of every kernel ended on a live host; the boot the
  // dead host failed ran again, on the other host, under the same number.
  int host_failures = 0, lost_mid_boot = 0;
  for (const auto& k : j["kernels"]) {
    std::set<int> done;
    std::set<int> failed;
    for (const auto& b : k["boots"]) {
      if (b["host_failed"].get<bool>()) {
        ++host_failures;
        EXPECT_EQ(b["host"], sshd.uri());
        EXPECT_EQ(b["outcome"], "infra");
        lost_mid_boot += b["detail"].get<std::string>().find("lost the connection") != std::string::npos;
        failed.insert(b["index"].get<int>());
      } else {
        done.insert(b["index"].get<int>());
      }
    }
    EXPECT_EQ(done.size(), static_cast<size_t>(boots)) << k["label"];
    for (int i : failed) {
      EXPECT_TRUE(done.count(i)) << k["label"] << " boot " << i << " was not run again";
      bool rerun_local = false;
      for (const auto& b : k["boots"])
        rerun_local |= b["index"] == i && !b["host_failed"].get<bool>() && b["host"] == "qemu:///system";
      EXPECT_TRUE(rerun_local) << k["label"] << " boot " << i;
    }
  }
  EXPECT_GE(host_failures, 1) << out;
  EXPECT_EQ(lost_mid_boot, 1) << out;
  EXPECT_NE(out.find("DOWN"), std::string::npos) << out;
  // Nothing left behind. The daemon destroys an auto-destroy domain when
  // its client's connection closes; the dead path's may take it a moment to
  // see (bounded by the guest's own end: on_reboot=destroy).
  for (int i = 0; i < 600 && !racebisect_domains().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(racebisect_domains().empty());
}

}  // namespace
}  // namespace rb
