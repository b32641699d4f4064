// console-noise: a guest test of the console itself. It prints `trials` KTAP
// results, every one a pass, while a child floods the kernel log through
// /dev/kmsg: kernel messages reach the serial console by another path than
// /init's lines, and must never splice into them (a spliced marker or result
// turns a good boot into an infra error, or a "not ok" into an "ok"). The
// child outlives us, as a test's leftover might: /init must end it before
// its exit marker, which would otherwise wait behind the flood's records
// until the reset cuts them off.
// quiet=1 first does what a test might that quiets the kernel: console
// loglevel 1 (`dmesg -n 1`) and /dev/kmsg off; /init's lines must still
// arrive. Other arguments are accepted and ignored (the case's own).
#include <fcntl.h>
#include <signal.h>
#include <sys/klog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

void write_line(int fd, const std::string& s) {
  const std::string line = s + "\n";
  if (write(fd, line.data(), line.size()) < 0) _exit(2);  // one write per line
}

[[noreturn]] void flood(pid_t parent) {
  const int null = open("/dev/null", O_WRONLY);
  dup2(null, 1);  // the pipe to /init must close when the parent exits
  dup2(null, 2);
  // Unthrottled (the host's printk.devkmsg=on), as a kernel in trouble would be.
  const int kmsg = open("/dev/kmsg", O_WRONLY);
  if (kmsg < 0) _exit(1);
  auto stop = Clock::time_point::max();
  for (long k = 0;; ++k) {
    if (stop == Clock::time_point::max() && getppid() != parent) stop = Clock::now() + std::chrono::seconds(1);
    if (Clock::now() > stop) _exit(0);
    const std::string s = "<12>console-noise: kernel line " + std::to_string(k) + " " + std::string(48, 'k') + "\n";
    if (write(kmsg, s.data(), s.size()) < 0) _exit(1);
  }
}

// What a test that wants a quiet console might do. Failures are expected
// (the host locks printk_devkmsg) and ignored.
void quiet_the_kernel() {
  klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, nullptr, 1);
  if (const int f = open("/proc/sys/kernel/printk_devkmsg", O_WRONLY); f >= 0) {
    if (write(f, "off\n", 4) < 0) { /* refused: locked on */ }
    close(f);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 100;
  for (int i = 1; i < argc; ++i) {
    if (!strncmp(argv[i], "trials=", 7)) trials = atoi(argv[i] + 7);
    if (!strcmp(argv[i], "quiet=1")) quiet_the_kernel();
  }
  signal(SIGCHLD, SIG_IGN);  // the child is /init's to reap once we are gone
  const pid_t self = getpid();
  if (fork() == 0) flood(self);
  write_line(1, "KTAP version 1");
  write_line(1, "1.." + std::to_string(trials));
  // Long lines, paced, so the flood has many chances to land inside one.
  for (int i = 1; i <= trials; ++i) {
    write_line(1, "ok " + std::to_string(i) + " trial noise=" + std::string(100, 'n'));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}
