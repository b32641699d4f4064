#include "report/doctor_report.h"

#include <gtest/gtest.h>

namespace rb::report {
namespace {

doctor::Report doctor_sample() {
  doctor::Report r;
  r.checks = {{"qemu", "/usr/bin/qemu-system-x86_64", doctor::Status::Ok, "QEMU emulator version 7.2.19", ""},
              {"accel", "/dev/kvm", doctor::Status::Warn, "falling back to TCG", "none needed"},
              {"git", "git", doctor::Status::Fail, "git not found", "apt-get install git"}};
  r.data.layout = {"/p/share/racebisect", "/p/libexec/racebisect", "executable", "RACEBISECT_LIBEXEC"};
  r.data.files = {{"case", "/p/share/racebisect/cases/x.toml", true}, {"init", "/p/libexec/racebisect/rb-init", false}};
  return r;
}

TEST(DoctorReport, JsonCarriesChecksDataAndExitCode) {
  const auto j = doctor_json(doctor_sample(), false);
  EXPECT_EQ(j["schema"], "racebisect-doctor/1");
  EXPECT_EQ(j["status"], "fail");
  EXPECT_EQ(j["exit_code"], 3);
  ASSERT_EQ(j["checks"].size(), 3u);
  EXPECT_EQ(j["checks"][1]["id"], "accel");
  EXPECT_EQ(j["checks"][1]["status"], "warn");
  EXPECT_EQ(j["checks"][2]["fix"], "apt-get install git");
  EXPECT_EQ(j["data"]["libexec_from"], "RACEBISECT_LIBEXEC");
  EXPECT_EQ(j["data"]["files"][1]["found"], false);
}

TEST(DoctorReport, WarningsAloneExitZeroUnlessStrict) {
  auto r = doctor_sample();
  r.checks.pop_back();
  EXPECT_EQ(doctor_json(r, false)["status"], "warn");
  EXPECT_EQ(doctor_json(r, false)["exit_code"], 0);
  EXPECT_EQ(doctor_json(r, true)["exit_code"], 3);
}

TEST(DoctorReport, TextShowsFixesOnlyForProblems) {
  const std::string t = render_doctor(doctor_sample(), false);
  EXPECT_NE(t.find("ok    qemu"), std::string::npos) << t;
  EXPECT_NE(t.find("fail  git"), std::string::npos) << t;
  EXPECT_NE(t.find("fix: apt-get install git"), std::string::npos) << t;
  EXPECT_NE(t.find("fix: none needed"), std::string::npos) << t;
  EXPECT_NE(t.find("1 failed, 1 warning(s), 0 skipped: exit 3"), std::string::npos) << t;
}

}  // namespace
}  // namespace rb::report
