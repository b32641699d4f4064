#include "util/threads.h"

#include <utility>

namespace rb {

WorkerGroup::~WorkerGroup() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void WorkerGroup::spawn(std::function<void()> fn) {
  threads_.emplace_back([this, fn = std::move(fn)] {
    try {
      fn();
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!first_) first_ = std::current_exception();
      failing_ = true;
    }
  });
}

void WorkerGroup::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  std::exception_ptr e;
  {
    std::lock_guard lock(mu_);
    e = std::exchange(first_, nullptr);
  }
  if (e) std::rethrow_exception(e);
}

}  // namespace rb
