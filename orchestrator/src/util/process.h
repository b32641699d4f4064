// Child processes through Boost.Process, always as an argument vector (never
// a shell string). A Process is RAII: destroying a running one kills it and
// its process group, so a Ctrl-C or an exception never leaves QEMU or make
// running behind us.
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
};

class Process {
 public:
  Process(const std::vector<std::string>& argv, const ProcessOptions& opts = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool running();
  // Waits up to `timeout`; returns the exit code, or nullopt if still running.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  int wait();
  void kill();  // SIGKILL to the whole process group
  int pid() const;
  // Captured stdout+stderr (only when no output file was given); call after wait().
  const std::string& output() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct RunResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string output;  // captured stdout+stderr when no output file was given
};

// Runs to completion (or timeout, then kills). Throws rb::Error (infra) if the
// program cannot be started at all.
RunResult run_process(const std::vector<std::string>& argv, const ProcessOptions& opts = {},
              std::optional<std::chrono::seconds> timeout = std::nullopt);

// Like run_process(), but a non-zero exit is an rb::Error naming the command and
// carrying the tail of its output.
std::string run_checked(const std::vector<std::string>& argv, const ProcessOptions& opts = {});

std::string join_argv(const std::vector<std::string>& argv);  // for logs/bundles, shell-quoted

// Absolute path of an executable on $PATH, or empty.
std::filesystem::path find_program(const std::string& name);

}  // namespace rb
