// rb-init: PID 1 of the racebisect initramfs. Mounts what a guest test needs,
// runs the test named on the kernel command line, reports its exit status on
// the console and reboots (QEMU runs with -no-reboot, so reboot = exit;
// `poweroff` would only halt the CPUs and leave QEMU running).
//
// Command line contract (set by the host):
//   rb.test=NAME          run /bin/NAME (NAME: [A-Za-z0-9_-]+); "none" = just boot
//   rb.args=k=v,k=v,...   arguments, comma separated, passed as argv[1..]
// Every line we print starts with "racebisect-init: " so the host parser can
// tell our markers from kernel messages.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

void say(const std::string& s) {
  std::string line = "racebisect-init: " + s + "\n";
  if (write(1, line.data(), line.size()) < 0) return;
}

void mount_or_say(const char* src, const char* dst, const char* type) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, 0, nullptr) != 0 && errno != EBUSY)
    say(std::string("error mount ") + dst + ": " + strerror(errno));
}

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string cmdline_value(const std::string& cmdline, const std::string& key) {
  std::istringstream in(cmdline);
  std::string word;
  while (in >> word)
    if (word.rfind(key + "=", 0) == 0) return word.substr(key.size() + 1);
  return "";
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

[[noreturn]] void finish() {
  sync();
  reboot(RB_AUTOBOOT);
  for (;;) pause();
}

}  // namespace

int main() {
  // The kernel opened /dev/console (from the cpio) as fds 0-2 already.
  mount_or_say("devtmpfs", "/dev", "devtmpfs");
  mount_or_say("proc", "/proc", "proc");
  mount_or_say("sysfs", "/sys", "sysfs");
  mount_or_say("hugetlbfs", "/dev/hugepages", "hugetlbfs");
  say("start");

  long total = -1, free_pages = -1;
  std::istringstream mi(read_file("/proc/meminfo"));
  for (std::string line; std::getline(mi, line);) {
    if (line.rfind("HugePages_Total:", 0) == 0) total = atol(line.c_str() + 16);
    if (line.rfind("HugePages_Free:", 0) == 0) free_pages = atol(line.c_str() + 15);
  }
  say("hugepages total=" + std::to_string(total) + " free=" + std::to_string(free_pages) +
      " cpus=" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));

  const std::string cmdline = read_file("/proc/cmdline");
  const std::string test = cmdline_value(cmdline, "rb.test");
  if (test.empty() || test == "none") {
    say("exit status=0");
    finish();
  }
  if (!valid_name(test)) {
    say("error invalid rb.test name");
    finish();
  }
  std::vector<std::string> args{"/bin/" + test};
  std::string raw = cmdline_value(cmdline, "rb.args");
  std::istringstream parts(raw);
  for (std::string a; std::getline(parts, a, ',');)
    if (!a.empty()) args.push_back(a);

  std::string shown;
  for (auto& a : args) shown += (shown.empty() ? "" : " ") + a;
  say("exec " + shown);

  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    say(std::string("error exec ") + argv[0] + ": " + strerror(errno));
    _exit(127);
  }
  if (pid < 0) {
    say(std::string("error fork: ") + strerror(errno));
    finish();
  }
  int status = 0;
  // PID 1 reaps every orphan; wait until our test itself is gone.
  for (;;) {
    pid_t w = wait(&status);
    if (w == pid || (w < 0 && errno == ECHILD)) break;
  }
  if (WIFEXITED(status))
    say("exit status=" + std::to_string(WEXITSTATUS(status)));
  else if (WIFSIGNALED(status))
    say("exit status=" + std::to_string(128 + WTERMSIG(status)) + " signal=" + std::to_string(WTERMSIG(status)));
  finish();
}
