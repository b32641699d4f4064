#include "record/records.h"

namespace rb::record {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Pass: return "pass";
    case Outcome::Fail: return "fail";
    case Outcome::Crash: return "crash";
    case Outcome::BootFailure: return "boot-failure";
    case Outcome::Hang: return "hang";
    case Outcome::Timeout: return "timeout";
    case Outcome::Infra: return "infra";
  }
  return "?";
}

int BootRecord::passes() const {
  int n = 0;
  for (auto& t : trials) n += t.outcome == Outcome::Pass;
  return n;
}
int BootRecord::fails() const {
  int n = 0;
  for (auto& t : trials) n += t.outcome == Outcome::Fail;
  return n;
}
int BootRecord::infra() const {
  int n = 0;
  for (auto& t : trials) n += t.outcome == Outcome::Infra;
  return n;
}

}  // namespace rb::record
