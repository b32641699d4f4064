// /init for bench/ttff-warm-process: uffd-race twice, in two processes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>
static void run(const char* seed, const char* dur, const char* stop) {
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/uffd-race", "uffd-race", "mapping=noreserve", "pages=32", "readers=2", "trials=1", "variant=missing",
          seed, dur, stop, (char*)0);
    _exit(127);
  }
  waitpid(p, 0, 0);
}
int main(void) {
  mount("proc", "/proc", "proc", 0, 0);
  mount("sysfs", "/sys", "sysfs", 0, 0);
  char buf[4096] = {0}, seed[64] = "seed=1";
  FILE* f = fopen("/proc/cmdline", "r");
  if (f) { fread(buf, 1, sizeof buf - 1, f); fclose(f); }
  char* s = strstr(buf, "x.seed=");
  if (s) snprintf(seed, sizeof seed, "seed=%d", atoi(s + 7));
  const char* mode = strstr(buf, "x.warm=1") ? "warm" : "cold";
  if (mode[0] == 'w') run(seed, "duration_ms=1500", "stop_on_bogus=0");  // process 1: race 1.5 s, no stop
  printf("# second process\n"); fflush(stdout);
  run(seed, "duration_ms=3000", "stop_on_bogus=1");
  reboot(RB_POWER_OFF);
  return 0;
}
