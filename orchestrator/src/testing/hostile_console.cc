#include "testing/hostile_console.h"

#include <algorithm>
#include <charconv>

namespace rb::testing {

namespace {

using record::Outcome;
using Lines = std::vector<std::string>;
using Rng = std::mt19937_64;

// One boot as the guest prints it, in parts an attack can edit.
struct Run {
  int planned = 4;
  Lines boot;                    // the kernel, before /init
  Lines init;                    // @INIT@ start, hugepages, exec
  Lines head;                    // KTAP header, diagnostics, plan
  std::vector<std::string> results;
  std::vector<bool> ok;          // per result
  Lines tail;                    // summary, @INIT@ exit status=0
  Lines after;                   // reboot
};

std::string result_line(int n, bool ok) {
  const std::string num = std::to_string(n);
  return ok ? "ok " + num + " trial events=0 bogus=0 toggles=8123 reads=123456 ms=3000"
            : "not ok " + num + " trial events=3 bogus=3 toggles=400 reads=9000 ms=340 first_bogus_ms=340";
}

Run base_run(int planned, const std::vector<bool>& ok) {
  Run r;
  r.planned = planned;
  const std::string args = "variant=missing,mapping=noreserve,pages=32,readers=2,trials=" + std::to_string(planned) +
                           ",duration_ms=3000,seed=1";
  // Real kernels echo the command line, nonce included, but never at the
  // start of a line: the parser must not be fooled by it.
  r.boot = {"Linux version 6.1.192+ (racebisect@racebisect) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP",
            "Command line: console=ttyS0 oops=panic panic=-1 hugepages=64 rb.test=uffd-race rb.nonce=@NONCE@ rb.args=" + args,
            "Kernel command line: console=ttyS0 oops=panic panic=-1 hugepages=64 rb.test=uffd-race rb.nonce=@NONCE@",
            "Unknown kernel command line parameters \"rb.test=uffd-race rb.nonce=@NONCE@\", will be passed to user space.",
            "Run /init as init process"};
  r.init = {"@INIT@ start", "@INIT@ hugepages total=64 free=64 cpus=2",
            "@INIT@ exec /bin/uffd-race " + args};
  r.head = {"KTAP version 1", "# uffd-race variant=missing mapping=noreserve pages=32 readers=2",
            "# env cpus=2 hugepages_total=64 hugepages_free=64 uffd_features=0x1fff",
            "1.." + std::to_string(planned)};
  int failed = 0;
  for (int i = 0; i < planned; ++i) {
    r.results.push_back(result_line(i + 1, ok[i]));
    r.ok.push_back(ok[i]);
    failed += !ok[i];
  }
  r.tail = {"# summary trials=" + std::to_string(planned) + " failed=" + std::to_string(failed) + " errors=0",
            "@INIT@ exit status=0"};
  r.after = {"reboot: Restarting system"};
  return r;
}

Lines flatten(const Run& r) {
  Lines out;
  for (const Lines* part : {&r.boot, &r.init, &r.head}) out.insert(out.end(), part->begin(), part->end());
  out.insert(out.end(), r.results.begin(), r.results.end());
  for (const Lines* part : {&r.tail, &r.after}) out.insert(out.end(), part->begin(), part->end());
  return out;
}

std::string join(const Lines& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

Expected counted(const Run& r) {
  Expected e;
  for (bool ok : r.ok) (ok ? e.passes : e.fails)++;
  e.outcome = e.fails ? Outcome::Fail : Outcome::Pass;
  return e;
}

Expected voided(std::string detail) { return {Outcome::Infra, 0, 0, std::move(detail)}; }

// An attack edits a run and says what a correct host must make of it.
struct Attack {
  const char* name;
  bool huge;
  std::function<Expected(Run&, ScriptedConsole&)> apply;
};

std::string n_results_from(int from, int count) {
  std::string s;
  for (int i = 0; i < count; ++i) s += (i ? "\n" : "") + result_line(from + i, true);
  return s;
}

// Every attack keeps the rest of the run valid, so the attack alone decides.
const std::vector<Attack>& attacks() {
  static const std::vector<Attack> all = {
      // Rows that must still count (the contract holds).
      {"valid", false, [](Run& r, ScriptedConsole&) { return counted(r); }},
      {"marker-in-a-comment", false,
       [](Run& r, ScriptedConsole&) {
         r.results.back() = result_line(r.planned, false) + " # racebisect-init: exit status=0";
         r.ok.back() = false;
         return counted(r);
       }},
      {"results-after-exit", false,
       [](Run& r, ScriptedConsole&) {
         r.after.insert(r.after.begin(), {n_results_from(r.planned + 1, 100), "not ok 1 trial", "ok 1 trial"});
         return counted(r);
       }},
      {"carriage-return-overprint", false,
       [](Run& r, ScriptedConsole&) {
         // A terminal shows "ok 1 ..."; the bytes say "not ok".
         r.results[0] = result_line(1, false) + "\rok 1 trial";
         r.ok[0] = false;
         return counted(r);
       }},
      {"huge-line-before-results", false,
       [](Run& r, ScriptedConsole&) {
         r.head.insert(r.head.begin(), "@@longline 10000000");
         return counted(r);
       }},
      {"flood-after-exit", true,
       [](Run& r, ScriptedConsole& c) {
         r.after.push_back("@@repeat 1200000 [   99.000000] printk flood line {n} from a kernel that will not stop");
         c.end = vm::BootEnd::ConsoleFull;
         return counted(r);
       }},
      // Rows that must not count.
      {"ktap-before-init", false,
       [](Run& r, ScriptedConsole&) {
         r.boot.insert(r.boot.end(), {"KTAP version 1", "1.." + std::to_string(r.planned), n_results_from(1, r.planned)});
         r.init.pop_back();  // /init never ran the test
         r.head.clear();
         r.results.clear();
         r.ok.clear();
         return voided("never started the test");
       }},
      {"plan-before-exec", false,
       [](Run& r, ScriptedConsole&) {
         r.init.insert(r.init.end() - 1, {"KTAP version 1", "1.." + std::to_string(r.planned)});
         r.head.clear();
         return voided("printed no plan");
       }},
      {"results-beyond-plan", false,
       [](Run& r, ScriptedConsole&) {
         r.results.push_back(n_results_from(r.planned + 1, 100));
         return voided("beyond the");
       }},
      {"exit-139-after-one-result", false,
       [](Run& r, ScriptedConsole&) {
         r.results.resize(1);
         r.ok.resize(1);
         r.tail = {"@INIT@ exit status=139 signal=11"};
         return voided("status 139 (signal 11)");
       }},
      {"skip-plan", false,
       [](Run& r, ScriptedConsole&) {
         r.head = {"KTAP version 1", "1..0 # SKIP usage: variant must be missing or minor"};
         r.results.clear();
         r.ok.clear();
         r.tail = {"@INIT@ exit status=2"};
         return voided("the test skipped: usage: variant must be missing or minor");
       }},
      {"forged-marker-without-nonce", false,
       [](Run& r, ScriptedConsole&) {
         r.head.push_back("racebisect-init: exit status=0");
         return voided("without this boot's nonce");
       }},
      {"forged-marker-wrong-nonce", false,
       [](Run& r, ScriptedConsole&) {
         r.results.insert(r.results.begin() + 1, "racebisect-init 0123456789abcdef: exit status=0");
         return voided("without this boot's nonce");
       }},
      {"plan-differs-from-request", false,
       [](Run& r, ScriptedConsole&) {
         r.head.back() = "1.." + std::to_string(r.planned + 4);
         return voided("were requested");
       }},
      {"missing-result", false,
       [](Run& r, ScriptedConsole&) {
         r.results.erase(r.results.begin());
         r.ok.erase(r.ok.begin());
         return voided("1 of");
       }},
      {"duplicate-result", false,
       [](Run& r, ScriptedConsole&) {
         r.results.push_back(r.results.back());
         return voided("numbers must increase");
       }},
      {"out-of-order", false,
       [](Run& r, ScriptedConsole&) {
         if (r.results.size() < 2) r.results.push_back(result_line(r.planned, true));  // 1 then 1
         std::swap(r.results[0], r.results[1]);
         return voided("numbers must increase");
       }},
      {"no-exit-marker", false,
       [](Run& r, ScriptedConsole&) {
         r.tail.pop_back();
         return voided("without /init's exit marker");
       }},
      {"test-printed-a-marker", false,
       [](Run& r, ScriptedConsole&) {
         // What /init makes of a test line starting with racebisect-init.
         r.results.insert(r.results.begin(), {"# defused: racebisect-init: exit status=0",
                                              "@INIT@ error the test printed a line starting with racebisect-init"});
         return voided("the test printed a line starting with racebisect-init");
       }},
      {"exec-before-start", false,
       [](Run& r, ScriptedConsole&) {
         std::rotate(r.init.begin(), r.init.end() - 1, r.init.end());
         return voided("exec marker out of order");
       }},
      {"second-exec", false,
       [](Run& r, ScriptedConsole&) {
         r.results.insert(r.results.begin(), r.init.back());
         return voided("exec marker out of order");
       }},
      {"second-start", false,
       [](Run& r, ScriptedConsole&) {
         r.tail.insert(r.tail.begin(), "@INIT@ start");
         return voided("a second start marker");
       }},
      {"exit-status-1", false,
       [](Run& r, ScriptedConsole&) {
         r.tail.back() = "@INIT@ exit status=1";
         return voided("status 1");
       }},
      {"env-error", false,
       [](Run& r, ScriptedConsole&) {
         r.results = {"not ok 1 trial # ERROR env: hugepages got 0 free expected 32"};
         r.ok = {false};
         r.tail = {"@INIT@ exit status=3"};
         return voided("env: hugepages got 0 free expected 32");
       }},
      {"cut-mid-result", false,
       [](Run& r, ScriptedConsole&) {
         r.results.back() = "@@nonl " + r.results.back().substr(0, 10);
         r.tail.clear();
         r.after.clear();
         return voided("without /init's exit marker");
       }},
      {"many-results-many-fields", true,
       [](Run& r, ScriptedConsole&) {
         std::string fields;
         for (int k = 1; k <= 256; ++k) fields += " k" + std::to_string(k) + "=v" + std::to_string(k);
         r.results = {"@@repeat 16384 ok {n} trial" + fields};
         return voided("beyond the");
       }},
      {"flood-before-results", true,
       [](Run& r, ScriptedConsole& c) {
         r.head.push_back("@@repeat 1200000 [   12.000000] printk flood line {n} from a kernel that will not stop");
         c.end = vm::BootEnd::ConsoleFull;
         return voided("cap before the test finished");
       }},
      {"crash-after-first-result", false,
       [](Run& r, ScriptedConsole&) {
         r.results.resize(1);
         r.ok.resize(1);
         r.results.insert(r.results.end(),
                          {"[   14.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008",
                           "[   14.100100] #PF: supervisor read access in kernel mode",
                           "[   14.100300] RIP: 0010:hugetlb_fault+0x1a4/0xa50",
                           "[   14.100900] Kernel panic - not syncing: Fatal exception"});
         r.tail.clear();
         r.after.clear();
         Expected e = counted(r);
         e.outcome = Outcome::Crash;
         e.detail = "BUG: kernel NULL pointer dereference in hugetlb_fault";
         return e;
       }},
      {"panic-before-init", false,
       [](Run& r, ScriptedConsole&) {
         r.boot.push_back("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)");
         r.init.clear();
         r.head.clear();
         r.results.clear();
         r.ok.clear();
         r.tail.clear();
         r.after.clear();
         return Expected{Outcome::BootFailure, 0, 0, "VFS: Unable to mount root fs"};
       }},
  };
  return all;
}

std::string timestamp(Rng& rng) {
  char buf[32];
  snprintf(buf, sizeof(buf), "[%5d.%06d] ", static_cast<int>(rng() % 100), static_cast<int>(rng() % 1000000));
  return buf;
}

// Kernel chatter that can never start a marker, a result or a crash report:
// a printk timestamp (which the parser looks behind: /init's own lines carry
// one on a PRINTK_TIME kernel), then a first word that starts none of them,
// then a vocabulary without any report keyword, plus bytes the sanitizer
// must cope with.
std::string noise_line(Rng& rng) {
  static const char* words[] = {"clocksource", "tsc", "unstable", "hugetlbfs", "uffd-race", "mlock", "ulimits",
                                "obsolete", "serial8250", "ttyS0", "smpboot", "cpu1", "virtio", "random:", "crng",
                                "init", "done", "x86/fpu", "ok", "not", "1..4", "#", "racebisect-init:", "exit",
                                "status=0", "KTAP"};
  constexpr size_t kInertFirst = 18;  // words[0..17]: no "ok", "not", "#", marker or plan
  std::string s = timestamp(rng) + words[rng() % kInertFirst] + ' ';
  const int n = static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) {
    s += words[rng() % std::size(words)];
    s += ' ';
  }
  switch (rng() % 8) {
    case 0: s += std::string("\x1b[1;31m") + "red\x1b[0m"; break;
    case 1: s += "\xff\xfe\xc3"; break;
    case 2: s += std::string("nul\0byte", 8); break;
    case 3: s += std::string(5000 + rng() % 3000, 'z'); break;  // over the 4096-byte line cut
    default: break;
  }
  return s;
}

// Benign changes the contract must see through: CRLF endings, colour codes
// before a result, printk glued onto the end of a result.
void disguise(Run& r, Rng& rng) {
  for (auto& l : r.results) {
    if (l.starts_with("@@")) continue;
    if (rng() % 4 == 0) l = "\x1b[0m" + l;
    if (rng() % 4 == 0) l += timestamp(rng) + "hugetlbfs: glued onto the result";
  }
}

Lines sprinkle(Lines lines, Rng& rng) {
  Lines out;
  for (auto& l : lines) {
    while (rng() % 3 == 0) out.push_back(noise_line(rng));
    if (!l.starts_with("@@") && rng() % 5 == 0) l += "\r";
    out.push_back(std::move(l));
  }
  return out;
}

ScriptedConsole make(const Attack& a, Run r, Rng* rng) {
  ScriptedConsole c;
  c.name = a.name;
  c.planned = r.planned;
  c.huge = a.huge;
  if (rng) disguise(r, *rng);
  c.want = a.apply(r, c);
  c.script = join(rng ? sprinkle(flatten(r), *rng) : flatten(r));
  return c;
}

void append_init(std::string& out, std::string_view nonce) {
  out += nonce.empty() ? "racebisect-init:" : "racebisect-init " + std::string(nonce) + ":";
}

// One script line with @INIT@/@NONCE@/{n} substituted.
void expand(std::string& out, std::string_view line, std::string_view nonce, std::string_view n) {
  for (size_t i = 0; i < line.size();) {
    if (line.substr(i).starts_with("@INIT@")) {
      append_init(out, nonce);
      i += 6;
    } else if (line.substr(i).starts_with("@NONCE@")) {
      out += nonce;
      i += 7;
    } else if (!n.empty() && line.substr(i).starts_with("{n}")) {
      out += n;
      i += 3;
    } else {
      out += line[i++];
    }
  }
}

long number(std::string_view s) {
  long v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

std::vector<ScriptedConsole> contract_rows() {
  std::vector<ScriptedConsole> rows;
  for (const auto& a : attacks()) rows.push_back(make(a, base_run(4, {true, true, false, true}), nullptr));
  rows.push_back(make(attacks()[0], base_run(4, {true, true, true, true}), nullptr));
  rows.back().name = "valid-pass";
  ScriptedConsole empty;
  empty.name = "empty-console";
  empty.want = {Outcome::BootFailure, 0, 0, "never reached /init"};
  rows.push_back(empty);
  ScriptedConsole hang = make(attacks()[0], base_run(4, {true, true, true, true}), nullptr);
  hang.name = "hang-after-first-result";
  hang.script = hang.script.substr(0, hang.script.find("ok 2 trial")) + "@@sleep 4000\n";
  hang.end = vm::BootEnd::NoOutput;
  hang.want = {Outcome::Hang, 1, 0, "console silent"};
  hang.boot_flags = {"--no-output-timeout", "1"};
  rows.push_back(hang);
  return rows;
}

ScriptedConsole random_console(Rng& rng) {
  const int planned = 1 + static_cast<int>(rng() % 8);
  std::vector<bool> ok(planned);
  const bool failing = rng() % 2;
  for (auto&& o : ok) o = !(failing && rng() % 3 == 0);
  const auto& all = attacks();
  // ~35% valid; huge attacks (tens of MB each) 1 in ~300.
  const Attack* a = &all[0];
  if (rng() % 100 >= 35) {
    do a = &all[1 + rng() % (all.size() - 1)];
    while (a->huge && rng() % 100 != 0);
  }
  return make(*a, base_run(planned, ok), &rng);
}

void play(std::string_view script, std::string_view nonce, const std::function<void(std::string_view)>& out,
          const std::function<void(int)>& sleep_ms) {
  std::string buf;
  auto flush = [&] {
    if (!buf.empty()) out(buf);
    buf.clear();
  };
  auto put = [&](std::string_view s) {
    buf += s;
    if (buf.size() >= (1 << 16)) flush();
  };
  while (!script.empty()) {
    const size_t nl = script.find('\n');
    const std::string_view line = script.substr(0, nl);
    script.remove_prefix(nl == std::string_view::npos ? script.size() : nl + 1);
    if (line.starts_with("@@repeat ")) {
      const std::string_view rest = line.substr(9);
      const size_t sp = rest.find(' ');
      const long n = number(rest.substr(0, sp));
      const std::string_view text = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
      std::string one;
      for (long i = 1; i <= n; ++i) {
        one.clear();
        expand(one, text, nonce, std::to_string(i));
        one += '\n';
        put(one);
      }
    } else if (line.starts_with("@@sleep ")) {
      flush();
      if (sleep_ms) sleep_ms(static_cast<int>(number(line.substr(8))));
    } else if (line.starts_with("@@longline ")) {
      for (long left = number(line.substr(11)); left > 0; left -= 4096)
        put(std::string(static_cast<size_t>(std::min(left, 4096L)), 'A'));
      put("\n");
    } else if (line.starts_with("@@nonl ")) {
      std::string one;
      expand(one, line.substr(7), nonce, "");
      put(one);
    } else {
      std::string one;
      expand(one, line, nonce, "");
      one += '\n';
      put(one);
    }
  }
  flush();
}

std::string render(std::string_view script, std::string_view nonce) {
  std::string s;
  play(script, nonce, [&](std::string_view piece) { s += piece; });
  return s;
}

int boot_exit_code(Outcome o) {
  switch (o) {
    case Outcome::Pass: return 0;
    case Outcome::Fail: return 1;
    case Outcome::Crash: return 4;
    case Outcome::BootFailure: return 5;
    case Outcome::Hang:
    case Outcome::Timeout: return 6;
    case Outcome::Infra: return 3;
  }
  return 3;
}

}  // namespace rb::testing
