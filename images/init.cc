// rb-init: PID 1 of the racebisect initramfs. Mounts what a guest test needs,
// runs the test named on the kernel command line, reports its exit status on
// the console and reboots (QEMU runs with -no-reboot, so reboot = exit;
// `poweroff` would only halt the CPUs and leave QEMU running).
//
// Command line contract (set by the host, see run/contract.h):
//   rb.test=NAME          run /bin/NAME (NAME: [A-Za-z0-9_-]+); "none" = just boot
//   rb.args=k=v,k=v,...   arguments, comma separated, passed as argv[1..]
//   rb.nonce=HEX          fresh per boot: every marker we print carries it
//
// Our markers: "racebisect-init <nonce>: start|exec ...|exit status=N|error ...",
// each at the start of its own line. The host counts only markers with its
// nonce, and the test's KTAP only between exec and exit. The test never
// writes to the console itself: its stdout and stderr are a pipe that we
// copy to the console line by line (each one printk record through
// /dev/kmsg, see write_line), keeping printable ASCII only and
// defusing any line that would start with "racebisect-init", so nothing the
// test prints can pass for a marker (see docs/ARCHITECTURE.md).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "line_forwarder.h"
#include "proc_text.h"

namespace {

using rb_init::read_text;
using rb_init::split;

constexpr std::string_view kMarker = rb_init::LineForwarder::kMarker;
constexpr size_t kMaxShown = 800;  // of the exec marker's command: with the prefix, one kmsg record

std::string g_prefix = "racebisect-init: ";  // gains the nonce once /proc/cmdline is read
int g_console = 1;
int g_kmsg = -1;  // /dev/kmsg once it is usable, else -1

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t w = write(fd, s.data(), s.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s.remove_prefix(static_cast<size_t>(w));
  }
}

// Every line we print is one printk record. Written to the tty instead, a
// line goes out in 16-byte FIFO chunks and the kernel's own messages land
// between them: a marker cut in two is lost. A record is printed whole, in
// order with the kernel's. Level 0 (user facility): no console loglevel
// hides it, not even the test's `dmesg -n 1`. Every line fits one record
// (the forwarder's cut, kMaxShown); the tty is only for a kernel without
// an unthrottled /dev/kmsg.
void write_line(std::string_view line) {
  if (g_kmsg >= 0 && write(g_kmsg, ("<8>" + std::string(line)).data(), line.size() + 3) > 0) return;
  write_all(g_console, line);
}

void say(const std::string& s) { write_line(g_prefix + s + "\n"); }

// /dev/kmsg, or -1 unless it is unthrottled: by default the kernel keeps 10
// lines per 5 s from user space and drops the rest silently. The host puts
// printk.devkmsg=on on the command line, which also locks it against the
// test (run/contract.cc); without /proc/sys we cannot tell, so the tty.
int open_kmsg() {
  const auto mode = split(read_text("/proc/sys/kernel/printk_devkmsg"), " \t\n");
  if (mode.empty() || mode[0] != "on") return -1;
  return open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
}

std::string cmdline_value(const std::string& cmdline, const std::string& key) {
  for (const auto& word : split(cmdline, " \t\n"))
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

// Forwards the pipe until the test has exited (then drains what is left
// without blocking: an orphan holding the pipe open must not keep us here)
// or the pipe is closed (then waits). PID 1 reaps every orphan meanwhile.
int forward_until_exit(pid_t test, int pipe_fd) {
  rb_init::LineForwarder fwd(
      [](std::string_view line) { write_line(line); },
      {.forged = [] { say("error the test printed a line starting with racebisect-init"); },
       .cut = [] { say("error the test printed a line over " + std::to_string(rb_init::LineForwarder::kMaxLine) +
                       " bytes (cut: its directive may be lost)"); }});
  char buf[4096];
  int status = 0;
  bool exited = false, eof = false;
  while (!exited && !eof) {
    pollfd p{pipe_fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      ssize_t n = read(pipe_fd, buf, sizeof(buf));
      if (n > 0) fwd.feed(std::string_view(buf, static_cast<size_t>(n)));
      else if (n == 0 || errno != EINTR) eof = true;
    }
    int st = 0;
    for (pid_t w; (w = waitpid(-1, &st, WNOHANG)) > 0;)
      if (w == test) exited = true, status = st;
  }
  if (exited) {
    fcntl(pipe_fd, F_SETFL, O_NONBLOCK);
    for (ssize_t n; (n = read(pipe_fd, buf, sizeof(buf))) > 0;) fwd.feed(std::string_view(buf, static_cast<size_t>(n)));
  } else {
    int st = 0;
    for (pid_t w; (w = wait(&st)) != test;)
      if (w < 0 && errno == ECHILD) break;
    status = st;
  }
  fwd.flush();
  return status;
}

std::vector<std::string> mount_all() {
  std::vector<std::string> errors;
  auto m = [&](const char* src, const char* dst, const char* type) {
    mkdir(dst, 0755);
    if (mount(src, dst, type, 0, nullptr) != 0 && errno != EBUSY)
      errors.push_back(std::string("mount ") + dst + ": " + strerror(errno));
  };
  m("proc", "/proc", "proc");  // first: the nonce is on /proc/cmdline
  m("devtmpfs", "/dev", "devtmpfs");
  m("sysfs", "/sys", "sysfs");
  m("hugetlbfs", "/dev/hugepages", "hugetlbfs");
  return errors;
}

void say_hugepages() {
  long total = -1, free_pages = -1;
  for (const auto& line : split(read_text("/proc/meminfo"), "\n")) {
    if (line.rfind("HugePages_Total:", 0) == 0) total = atol(line.c_str() + 16);
    if (line.rfind("HugePages_Free:", 0) == 0) free_pages = atol(line.c_str() + 15);
  }
  say("hugepages total=" + std::to_string(total) + " free=" + std::to_string(free_pages) +
      " cpus=" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
}

// Kills what the test left running and reaps it for up to 1 s (a process
// stuck in the kernel must not keep the boot alive). A leftover that keeps
// printing (console-noise's flood) would otherwise keep our exit marker
// queued behind its records until the reset cuts them off: measured, 1 of
// 16 flooded boots ended without it. Once nothing else prints, our marker's
// write prints everything queued before it returns.
void end_leftovers() {
  kill(-1, SIGKILL);  // every process but us
  for (int i = 0; i < 100; ++i) {
    int st = 0;
    const pid_t w = waitpid(-1, &st, WNOHANG);
    if (w < 0 && errno == ECHILD) return;
    if (w <= 0) usleep(10000);
  }
}

// Runs the test with its output through our forwarder; returns its wait status.
int run_test(std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    say(std::string("error pipe: ") + strerror(errno));
    finish();
  }
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    dup2(fds[1], 1);  // dup2 clears O_CLOEXEC on the copies
    dup2(fds[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    say(std::string("error exec ") + argv[0] + ": " + strerror(errno));  // our fds are still open here
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    say(std::string("error fork: ") + strerror(errno));
    finish();
  }
  const int status = forward_until_exit(pid, fds[0]);
  close(fds[0]);
  return status;
}

}  // namespace

int main() {
  // The kernel opened /dev/console (from the cpio) as fds 0-2 already. Our
  // own copy is close-on-exec, so the test never inherits the console.
  g_console = fcntl(1, F_DUPFD_CLOEXEC, 10);
  if (g_console < 0) g_console = 1;
  const std::vector<std::string> mount_errors = mount_all();
  g_kmsg = open_kmsg();
  const std::string cmdline = read_text("/proc/cmdline");
  const std::string nonce = cmdline_value(cmdline, "rb.nonce");
  if (valid_name(nonce)) g_prefix = std::string(kMarker) + " " + nonce + ": ";
  say("start");
  for (const auto& e : mount_errors) say("error " + e);
  say_hugepages();

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
  for (auto& a : split(cmdline_value(cmdline, "rb.args"), ",")) args.push_back(std::move(a));

  std::string shown;
  for (auto& a : args) shown += (shown.empty() ? "" : " ") + a;
  if (shown.size() > kMaxShown) shown = shown.substr(0, kMaxShown) + " ...";  // one record; the host reads "exec "
  say("exec " + shown);
  const int status = run_test(args);
  end_leftovers();
  if (WIFEXITED(status))
    say("exit status=" + std::to_string(WEXITSTATUS(status)));
  else if (WIFSIGNALED(status))
    say("exit status=" + std::to_string(128 + WTERMSIG(status)) + " signal=" + std::to_string(WTERMSIG(status)));
  finish();
}
