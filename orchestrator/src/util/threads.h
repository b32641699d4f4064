// Worker threads whose exceptions are not lost. An exception escaping a
// std::thread calls std::terminate (no results, children left to the
// guardian); a WorkerGroup catches it on the worker, lets the other workers
// see that the group is failing, and rethrows the first one from join() on the
// caller's thread, where cli/main.cc turns it into exit 3 with its message.
#pragma once
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rb {

class WorkerGroup {
 public:
  WorkerGroup() = default;
  ~WorkerGroup();  // joins; an exception not collected by join() is dropped
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  void spawn(std::function<void()> fn);
  // Waits for every worker; rethrows the first exception any of them threw.
  void join();
  // True once a worker has thrown: the others may stop taking work.
  bool failing() const { return failing_.load(); }

 private:
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::exception_ptr first_;
  std::atomic<bool> failing_{false};
};

// Runs `fn`; returns nullopt, or the message of what it threw -- for turning
// one boot's unexpected exception into an infrastructure outcome of that boot
// instead of ending the whole run.
template <class F>
std::optional<std::string> capture_error(F&& fn) noexcept {
  try {
    std::forward<F>(fn)();
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  } catch (...) {
    return std::string("unknown exception");
  }
}

}  // namespace rb
