#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/stop.h"

extern char** environ;

namespace rb {

namespace {

using Clock = std::chrono::steady_clock;

// ---- every live child's process group, for signal handlers ----
//
// A fixed table of atomics: adding and removing are lock-free, and
// kill_all_children() only reads, so it is safe in a signal handler. A fork()ed
// copy of this process (tests do that) must not kill its parent's children,
// hence the owner pid.

constexpr size_t kMaxChildren = 4096;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};
std::atomic<pid_t> g_owner{0};
std::mutex g_owner_mu;

void forget_inherited_children() {
  std::lock_guard lock(g_owner_mu);
  if (g_owner.load() == ::getpid()) return;
  for (auto& slot : g_children) slot.store(0);
  g_owner.store(::getpid());
}

void registry_add(pid_t pgid) {
  forget_inherited_children();
  for (auto& slot : g_children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pgid)) return;
  }
  // Full: the guardian and PDEATHSIG still cover this child.
}

void registry_remove(pid_t pgid) {
  for (auto& slot : g_children) {
    pid_t mine = pgid;
    if (slot.compare_exchange_strong(mine, 0)) return;
  }
}

// ---- the guardian: kills our children's groups once we are gone ----
//
// PR_SET_PDEATHSIG only reaches the direct child: after a kill -9, make dies
// but its compilers would run on into the next run's build. The guardian is
// a forked copy of us that reads "add/remove group" records from a pipe; when
// the pipe reaches EOF (our last write end closed, i.e. we died however we
// died), it SIGKILLs every group still registered and exits. It only makes
// async-signal-safe calls, since it is forked from a threaded process.

struct Record {
  int32_t op;  // 'a' add, 'r' remove
  int32_t pgid;
};

[[noreturn]] void guardian_main(int rfd) {
  ::setpgid(0, 0);  // out of our group: a Ctrl-C or kill of our group misses it
  ::prctl(PR_SET_NAME, "rb-guardian");
  // Our handlers would act as racebisect; terminal signals are not for it.
  struct sigaction dfl {}, ign {};
  dfl.sa_handler = SIG_DFL;
  ign.sa_handler = SIG_IGN;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
  for (int s : {SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU}) ::sigaction(s, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (rfd != 3) {
    ::dup2(rfd, 3);
    rfd = 3;
  }
  ::fcntl(rfd, F_SETFD, 0);
  if (int null = ::open("/dev/null", O_RDWR); null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
  }
  // Inherited lock and database descriptors would keep flock()s held.
  if (::close_range(4, ~0U, 0) != 0)
    for (int fd = 4; fd < 4096; ++fd) ::close(fd);
  static pid_t groups[kMaxChildren];
  for (;;) {
    Record r;
    const ssize_t n = ::read(rfd, &r, sizeof r);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof r)) break;  // EOF: the parent is gone
    for (auto& g : groups) {
      if (r.op == 'a' && g == 0) {
        g = r.pgid;
        break;
      }
      if (r.op == 'r' && g == r.pgid) {
        g = 0;
        break;
      }
    }
  }
  for (pid_t g : groups)
    if (g > 0) ::kill(-g, SIGKILL);
  ::_exit(0);
}

class Guardian {
 public:
  void ensure_started() {
    std::lock_guard lock(mu_);
    if (owner_ != ::getpid()) start();
  }
  void send(char op, pid_t pgid) {
    std::lock_guard lock(mu_);
    if (owner_ != ::getpid()) start();
    if (fd_ < 0) return;
    const Record r{op, pgid};
    // <= PIPE_BUF: one atomic write, never interleaved with another thread's.
    while (::write(fd_, &r, sizeof r) < 0 && errno == EINTR) {
    }
  }

 private:
  void start() {
    if (fd_ >= 0) ::close(fd_);  // a fork()ed copy's inherited end: not ours to keep
    fd_ = -1;
    owner_ = ::getpid();
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[1]);
      guardian_main(p[0]);
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(p[0]);
    if (pid < 0) {
      ::close(p[1]);
      return;
    }
    fd_ = p[1];  // never reaped: it lives exactly as long as we do
  }

  std::mutex mu_;
  int fd_ = -1;
  pid_t owner_ = 0;
};

Guardian& guardian() {
  static Guardian* g = new Guardian;  // never destroyed: atexit handlers may still spawn or kill
  return *g;
}

// ---- small helpers ----

// Not a type of this file's own: Process::Impl holds these, and a type
// with internal linkage in a class with external linkage is an ODR trap.
using Fd = UniqueFd;

std::vector<std::string> merged_env(const std::map<std::string, std::string>& overrides,
                                    const std::vector<std::string>& unset) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = kv.substr(0, eq);
    if (overrides.count(name) || std::find(unset.begin(), unset.end(), name) != unset.end()) continue;
    env.push_back(kv);
  }
  for (const auto& [k, v] : overrides) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// What the child reports through the exec pipe when it cannot run the program.
struct ExecFailure {
  int step;  // 0 chdir, 1 exec
  int err;
};

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void child_main(pid_t parent, int in, int out, const char* cwd, const char* exe, char* const* argv,
                             char* const* envp, int report) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before the prctl
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);  // SIG_IGN would survive exec
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  ExecFailure f{0, 0};
  if (cwd && ::chdir(cwd) != 0) {
    f.err = errno;
  } else {
    // Descriptors some library opened without O_CLOEXEC must not leak.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
      for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ::execve(exe, argv, envp);
    f = {1, errno};
  }
  [[maybe_unused]] auto n = ::write(report, &f, sizeof f);
  ::_exit(127);
}

int decode_status(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255; }

}  // namespace

struct Process::Impl {
  pid_t pid = -1;
  Fd pidfd;     // readable once the child exits (-1: waitid polling instead)
  Fd out;       // read end of the capture pipe
  std::string captured;
  std::string what;
  std::optional<int> status;

  bool exited() {
    siginfo_t si{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
  }

  // Reads what is available from the capture pipe; false at EOF.
  bool drain() {
    if (out.fd < 0) return false;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(out.fd, buf, sizeof buf);
      if (n > 0) {
        captured.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return true;
      out.reset();
      return false;
    }
  }

  // The child has exited: kill what is left of its group, reap it, read the
  // rest of its output.
  void finish() {
    ::kill(-pid, SIGKILL);
    registry_remove(pid);
    guardian().send('r', pid);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    status = decode_status(st);
    pidfd.reset();
    // The group is dead, so every writer is gone; a bounded wait anyway in
    // case something escaped the group holding the pipe.
    const auto end = Clock::now() + std::chrono::seconds(2);
    while (out.fd >= 0 && Clock::now() < end) {
      pollfd p{out.fd, POLLIN, 0};
      ::poll(&p, 1, 100);
      drain();
    }
    out.reset();
  }

  // Waits until exit, `deadline`, or (if `stoppable`) a stop request.
  void wait_until(Clock::time_point deadline, bool stoppable) {
    while (!status) {
      if (exited()) {
        finish();
        return;
      }
      if (stoppable && stop_requested()) return;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return;
      std::array<pollfd, 3> fds{};
      nfds_t n = 0;
      if (pidfd.fd >= 0) fds[n++] = {pidfd.fd, POLLIN, 0};
      if (out.fd >= 0) fds[n++] = {out.fd, POLLIN, 0};
      if (stoppable && stop_fd() >= 0) fds[n++] = {stop_fd(), POLLIN, 0};
      // Without a pidfd, poll the exit every 20 ms.
      const int slice = static_cast<int>(std::min<long long>(left, pidfd.fd >= 0 ? 60000 : 20));
      ::poll(fds.data(), n, slice);
      drain();
    }
  }
};

Process::Process(const std::vector<std::string>& argv, const ProcessOptions& opts) : impl_(new Impl) {
  if (argv.empty()) throw infra_error("empty command");
  fs::path exe = argv[0];
  if (argv[0].find('/') == std::string::npos) exe = find_program(argv[0]);
  if (exe.empty()) throw infra_error("program not found on PATH: " + argv[0]);
  impl_->what = opts.what.empty() ? join_argv(argv).substr(0, 300) : opts.what;

  std::vector<std::string> args = argv, env = merged_env(opts.env, opts.unset);
  std::vector<char*> cargv = c_strings(args), cenv = c_strings(env);
  const std::string exe_s = exe.string(), cwd_s = opts.cwd.string();

  Fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd out_w;
  if (!opts.output.empty()) {
    // Append, so one log can hold a sequence of commands (config, build).
    out_w.reset(::open(opts.output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (out_w.fd < 0) throw infra_error("cannot open " + opts.output.string() + ": " + std::strerror(errno));
  } else {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw infra_error(std::string("pipe: ") + std::strerror(errno));
    impl_->out.reset(p[0]);
    out_w.reset(p[1]);
    ::fcntl(impl_->out.fd, F_SETFL, O_NONBLOCK);
  }
  int rp[2];
  if (in.fd < 0 || ::pipe2(rp, O_CLOEXEC) != 0) throw infra_error(std::string("pipe: ") + std::strerror(errno));
  Fd report_r(rp[0]), report_w(rp[1]);

  guardian().ensure_started();
  // No signal handler may run in the child before exec (it would act as us).
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0)
    child_main(parent, in.fd, out_w.fd, cwd_s.empty() ? nullptr : cwd_s.c_str(), exe_s.c_str(), cargv.data(),
               cenv.data(), report_w.fd);
  if (pid > 0) {
    ::setpgid(pid, pid);  // also here, so the group exists before any kill(-pid)
    registry_add(pid);
    guardian().send('a', pid);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) throw infra_error("cannot start " + exe_s + ": fork: " + std::strerror(errno));
  impl_->pid = pid;
  report_w.reset();
  out_w.reset();

  ExecFailure f{};
  ssize_t n;
  while ((n = ::read(report_r.fd, &f, sizeof f)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof f)) {
    impl_->finish();
    throw infra_error("cannot start " + exe_s + ": " + (f.step == 0 ? "cannot enter " + cwd_s + ": " : "") +
                      std::strerror(f.err));
  }
  impl_->pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

Process::~Process() {
  if (!impl_ || impl_->pid <= 0) return;
  if (!impl_->status) {
    kill();
    impl_->wait_until(Clock::time_point::max(), false);
  }
}

bool Process::running() {
  if (impl_->status) return false;
  impl_->drain();
  if (impl_->exited()) impl_->finish();
  return !impl_->status;
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
  impl_->wait_until(Clock::now() + timeout, true);
  return impl_->status;
}

int Process::wait() {
  impl_->wait_until(Clock::time_point::max(), false);
  return *impl_->status;
}

void Process::kill() {
  if (impl_->status || impl_->pid <= 0) return;
  ::kill(-impl_->pid, SIGKILL);
  ::kill(impl_->pid, SIGKILL);
}

int Process::pid() const { return impl_->pid; }

const std::string& Process::output() const { return impl_->captured; }

const std::string& Process::what() const { return impl_->what; }

RunResult run_process(const std::vector<std::string>& argv, const ProcessOptions& opts,
                      std::optional<std::chrono::seconds> timeout) {
  Process p(argv, opts);
  RunResult r;
  const auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  for (;;) {
    const auto left = deadline == Clock::time_point::max()
                          ? std::chrono::milliseconds(std::chrono::hours(1))
                          : std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (auto code = p.wait_for(std::max(left, std::chrono::milliseconds(0)))) {
      r.exit_code = *code;
      break;
    }
    if (stop_requested()) {
      p.kill();
      p.wait();
      throw interrupted_error("interrupted while waiting for " + p.what());
    }
    if (Clock::now() >= deadline) {
      p.kill();
      p.wait();
      r.timed_out = true;
      break;
    }
  }
  r.output = p.output();
  return r;
}

std::string run_checked(const std::vector<std::string>& argv, const ProcessOptions& opts,
                        std::optional<std::chrono::seconds> timeout) {
  RunResult r = run_process(argv, opts, timeout);
  const std::string what = opts.what.empty() ? join_argv(argv) : opts.what;
  std::string tail = opts.output.empty() ? r.output : read_tail(opts.output, 4000);
  if (tail.size() > 4000) tail = tail.substr(tail.size() - 4000);
  if (r.timed_out)
    throw infra_error("timed out after " + std::to_string(timeout->count()) + " s: " + what + "\n" + tail);
  if (r.exit_code != 0)
    throw infra_error("command failed (exit " + std::to_string(r.exit_code) + "): " + what + "\n" + tail);
  return r.output;
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (auto& a : argv) {
    if (!s.empty()) s += ' ';
    bool plain = !a.empty() && a.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") == std::string::npos;
    if (plain) {
      s += a;
    } else {
      s += '\'';
      for (char c : a) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
      s += '\'';
    }
  }
  return s;
}

std::filesystem::path find_program(const std::string& name) {
  auto usable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return usable(name) ? fs::path(name) : fs::path();
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    const size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon - start);
    if (dir.empty()) dir = ".";
    if (usable(fs::path(dir) / name)) return fs::absolute(fs::path(dir) / name);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

void kill_all_children() noexcept {
  if (g_owner.load() != ::getpid()) return;
  for (auto& slot : g_children)
    if (pid_t g = slot.load(); g > 0) ::kill(-g, SIGKILL);
}

}  // namespace rb
