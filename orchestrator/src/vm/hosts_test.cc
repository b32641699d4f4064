#include "vm/hosts.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace rb::vm {
namespace {

struct GoodRow {
  const char* value;
  const char* uri;
  int slots;
};

const GoodRow kGood[] = {
    {"qemu:///system", "qemu:///system", 1},
    {"qemu:///session,slots=3", "qemu:///session", 3},
    {"qemu+ssh://root@localhost:2222/system?keyfile=/tmp/k&no_verify=1,slots=2",
     "qemu+ssh://root@localhost:2222/system?keyfile=/tmp/k&no_verify=1", 2},
    {"qemu+tcp://10.0.0.7/system", "qemu+tcp://10.0.0.7/system", 1},
    {"qemu+unix:///system?socket=/run/x.sock", "qemu+unix:///system?socket=/run/x.sock", 1},
};

TEST(Connect, ParsesUriAndSlots) {
  for (const auto& row : kGood) {
    const Host h = parse_connect(row.value);
    EXPECT_EQ(h.uri, row.uri) << row.value;
    EXPECT_EQ(h.slots, row.slots) << row.value;
  }
}

struct BadRow {
  const char* value;
  const char* message;
};

const BadRow kBad[] = {
    {"", "--connect ''"},
    {"localhost", "not a libvirt URI"},
    {"xen:///system", "not a libvirt URI"},
    {"qemu://", "not a libvirt URI"},
    {"qemu:///nowhere", "not a libvirt URI"},
    {"qemu+carrier-pigeon://h/system", "not a libvirt URI"},
    {"qemu:///system x", "spaces or control"},
    {"qemu:///system\n", "spaces or control"},
    {"qemu:///system,slots=0", "slots"},
    {"qemu:///system,slots=-1", "slots"},
    {"qemu:///system,slots=65", "slots"},
    {"qemu:///system,slots=two", "slots"},
    {"qemu:///system,slots=", "slots"},
    {"qemu:///system,cores=2", "unknown"},
};

TEST(Connect, RefusesBadValuesNamingThem) {
  for (const auto& row : kBad) {
    try {
      parse_connect(row.value);
      ADD_FAILURE() << "accepted: " << row.value;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find(row.message), std::string::npos) << row.value << ": " << e.what();
    }
  }
}

TEST(Connect, RefusesTheSameUriTwice) {
  EXPECT_THROW(parse_connects({"qemu:///system", "qemu:///system,slots=2"}), Error);
  EXPECT_EQ(parse_connects({"qemu:///system", "qemu+ssh://root@localhost/system"}).size(), 2u);
}

}  // namespace
}  // namespace rb::vm
