#include "util/threads.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace rb {
namespace {

TEST(WorkerGroup, FirstExceptionReachesTheCaller) {
  WorkerGroup g;
  std::atomic<int> ran{0};
  for (int i = 0; i < 4; ++i)
    g.spawn([&, i] {
      ++ran;
      if (i == 2) throw std::runtime_error("boot 3 failed");
    });
  try {
    g.join();
    FAIL() << "the worker's exception was lost";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boot 3 failed");
  }
  EXPECT_EQ(ran, 4);
  EXPECT_TRUE(g.failing());
}

TEST(WorkerGroup, DestructorJoinsWithoutTerminate) {
  std::atomic<bool> done{false};
  {
    WorkerGroup g;
    g.spawn([&] { throw std::logic_error("dropped"); });
    g.spawn([&] { done = true; });
  }
  EXPECT_TRUE(done);
}

TEST(CaptureError, TurnsAnExceptionIntoItsMessage) {
  EXPECT_EQ(capture_error([] {}), std::nullopt);
  EXPECT_EQ(capture_error([] { throw std::runtime_error("invalid UTF-8 in --arg"); }), "invalid UTF-8 in --arg");
  EXPECT_EQ(capture_error([] { throw 42; }), "unknown exception");
}

}  // namespace
}  // namespace rb
