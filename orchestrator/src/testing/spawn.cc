#include "testing/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

extern char** environ;

namespace rb::testing {

namespace {

std::vector<std::string> merged_env(const std::map<std::string, std::optional<std::string>>& changes) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : changes) {
    if (v) all[k] = *v;
    else all.erase(k);
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Owns a pipe's read end and the spawn's file actions.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (pipe2(fd, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
};

}  // namespace

Spawned spawn(const std::vector<std::string>& argv, const std::map<std::string, std::optional<std::string>>& env,
              std::chrono::seconds timeout, const std::string& cwd) {
  std::vector<std::string> args = argv, envs = merged_env(env);
  auto cargs = c_strings(args), cenv = c_strings(envs);
  Pipe out;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group: a timeout kills it all
  posix_spawnattr_setpgroup(&attr, 0);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0].c_str(), &fa, &attr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0] + ": " + strerror(rc));
  close(out.fd[1]);
  out.fd[1] = -1;

  Spawned s;
  char buf[65536];
  for (;;) {
    pollfd p{out.fd[0], POLLIN, 0};
    const auto left = timeout - (std::chrono::steady_clock::now() - t0);
    if (left <= std::chrono::seconds(0)) {
      s.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(out.fd[0], buf, sizeof(buf));
    if (n <= 0) break;  // every writer closed: it ended (or closed its output)
    if (s.output.size() < (1u << 20)) s.output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.max_rss_kb = ru.ru_maxrss;
  s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return s;
}

}  // namespace rb::testing
