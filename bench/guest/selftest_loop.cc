// selftest-loop: runs the upstream userfaultfd selftest (`/bin/userfaultfd
// hugetlb 32 8` by default) again and again inside one boot and reports each
// run as a KTAP trial line, so the host's console parser and trial runner
// treat the peer exactly like racebisect's own guest test. Used by
// bench/perf_bench only (the peer of the time-to-first-failure comparison).
//
// A run fails (the race) when the selftest reports what the race does: an
// event it did not expect ("unexpected write fault", "UFFDIO_COPY retry
// unexpected", ...) or bad page contents ("memory corruption"). Any other
// non-zero exit (KSFT_SKIP, no hugepages, ...) is an environment problem
// (ERROR line), never a pass or a failure. Arguments are key=value, as for every guest test:
//   mode=hugetlb mb=32 bounces=8 trials=N (duration_ms and seed are accepted
//   and ignored: one trial is one whole selftest run).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void emit(const std::string& line) {
  std::string s = line + "\n";
  for (size_t off = 0; off < s.size();) {
    ssize_t w = write(1, s.data() + off, s.size() - off);
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

struct Run {
  int status = 0;
  std::string output;
  long ms = 0;
};

// fork + exec with stdout/stderr captured through a pipe.
Run run_once(const std::vector<std::string>& argv) {
  Run r;
  int fds[2];
  if (pipe(fds) != 0) {
    r.status = -1;
    r.output = std::string("pipe: ") + strerror(errno);
    return r;
  }
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;)
    if (r.output.size() < (1 << 20)) r.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, &r.status, 0);
  r.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// The last non-empty line of the selftest's output, cleaned for a KTAP line.
std::string last_line(const std::string& out) {
  size_t end = out.find_last_not_of("\n ");
  if (end == std::string::npos) return "no output";
  size_t begin = out.rfind('\n', end);
  std::string l = out.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
  for (char& c : l)
    if (c == '#' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  return l.substr(0, 200);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "hugetlb", mb = "32", bounces = "8";
  long trials = 1000000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    std::string k = a.substr(0, eq), v = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (k == "mode") mode = v;
    else if (k == "mb") mb = v;
    else if (k == "bounces") bounces = v;
    else if (k == "trials") trials = std::max(1L, atol(v.c_str()));
    else if (k != "duration_ms" && k != "seed") {
      emit("KTAP version 1");
      emit("1..0 # SKIP usage: unknown option '" + k + "'");
      return 2;
    }
  }
  const std::vector<std::string> cmd{"/bin/userfaultfd", mode, mb, bounces};
  emit("KTAP version 1");
  emit("# selftest-loop " + cmd[0] + " " + mode + " " + mb + " " + bounces);
  emit("1.." + std::to_string(trials));
  int failed = 0;
  for (long t = 1; t <= trials; ++t) {
    Run r = run_once(cmd);
    const bool exited = WIFEXITED(r.status);
    const int code = exited ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
    const std::string n = std::to_string(t), ms = std::to_string(r.ms);
    if (r.output.find("unexpected") != std::string::npos || r.output.find("corruption") != std::string::npos) {
      ++failed;
      emit("not ok " + n + " trial bogus=1 ms=" + ms + " first_bogus_ms=" + ms);
      emit("# " + last_line(r.output));
    } else if (exited && code == 0) {
      emit("ok " + n + " trial bogus=0 ms=" + ms);
    } else {
      emit("not ok " + n + " trial # ERROR env: selftest exit " + std::to_string(code) + ": " + last_line(r.output));
    }
  }
  emit("# summary trials=" + std::to_string(trials) + " failed=" + std::to_string(failed));
  return 0;  // the whole plan was printed: failures are results (the contract)
}
