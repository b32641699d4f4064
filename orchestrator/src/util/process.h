// Child processes, always as an argument vector (never a shell string).
//
// Supervision (nothing we start may outlive us):
//  * every child leads its own process group, so killing it takes make's
//    compilers or anything else it started too;
//  * every child gets PR_SET_PDEATHSIG(SIGKILL), and a small guardian process
//    (started with the first child) kills every live child's group when our
//    end of its pipe closes -- which the kernel does however we die, kill -9
//    included -- so make's own children go too, not only make;
//  * a Process is RAII: destroying a running one kills its group and reaps it;
//  * kill_all_children() does the same for every live child from a signal
//    handler or std::terminate (cli/main.cc).
// PR_SET_PDEATHSIG fires when the *thread* that started the child exits, so a
// Process must not outlive the thread that created it.
//
// Waiting is per child and thread-safe: a pidfd (or waitid(WNOHANG) polling)
// -- never a process-wide SIGCHLD handler -- and every wait also wakes on a
// stop request (util/stop.h).
#pragma once
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rb {

struct ProcessOptions {
  std::filesystem::path cwd;                  // empty: inherit
  std::filesystem::path output;               // stdout+stderr appended here; empty: captured
  std::map<std::string, std::string> env;     // added to / overriding the inherited env
  std::string what;                           // for messages ("make bzImage for unpatched"); default: argv
  std::vector<std::string> unset;             // removed from the inherited env
};

class Process {
 public:
  // Throws rb::Error (infra) if the program cannot be found or started.
  Process(const std::vector<std::string>& argv, const ProcessOptions& opts = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool running();
  // Waits up to `timeout` for the exit; returns the exit code (128+N if killed
  // by signal N), or nullopt if still running -- also at once if a stop was
  // requested (check rb::stop_requested()).
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  int wait();   // until it exits, stop requests notwithstanding
  void kill();  // SIGKILL to the whole process group
  int pid() const;
  // Captured stdout+stderr (only when no output file was given); complete after wait().
  const std::string& output() const;
  const std::string& what() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct RunResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string output;  // captured stdout+stderr when no output file was given
};

// Runs to completion, or to `timeout` (then kills the group: timed_out). A
// stop request kills the group and throws rb::Interrupted naming what was
// waited for. Throws rb::Error (infra) if the program cannot be started.
RunResult run_process(const std::vector<std::string>& argv, const ProcessOptions& opts = {},
                      std::optional<std::chrono::seconds> timeout = std::nullopt);

// Like run_process(), but a non-zero exit or a timeout is an rb::Error
// (infra) naming the command and carrying the tail of its output.
std::string run_checked(const std::vector<std::string>& argv, const ProcessOptions& opts = {},
                        std::optional<std::chrono::seconds> timeout = std::nullopt);

std::string join_argv(const std::vector<std::string>& argv);  // for logs/bundles, shell-quoted

// Absolute path of an executable on $PATH, or empty.
std::filesystem::path find_program(const std::string& name);

// SIGKILL to the process group of every live child of this process.
// Async-signal-safe: for signal handlers, std::terminate and atexit.
void kill_all_children() noexcept;

}  // namespace rb
