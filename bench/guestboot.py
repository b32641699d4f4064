"""The perf bench's QEMU command line, driven by hand, for the bench scripts
that explore the first trial (ttff-variants, first-vs-second-trial,
ttff-warm-process/run): one copy of the command, one console reader."""
import subprocess
import time


def race_append(seed, args, extra_cmdline=""):
    """Kernel command line running uffd-race with the case's defaults plus args ("k=v,")."""
    return (f"console=ttyS0 oops=panic panic=-1 printk.devkmsg=on log_buf_len=4M hugepages=64 {extra_cmdline} rb.test=uffd-race "
            f"rb.nonce=0100af4bad1376d6 rb.args=mapping=noreserve,pages=32,readers=2,seed={seed},{args}variant=missing")


def qemu_cmd(kernel, initrd, append, extra_qemu=()):
    return ["qemu-system-x86_64", "-M", "pc", "-nodefaults", "-no-user-config", "-m", "512", "-smp", "2",
            "-accel", "tcg,thread=multi", *extra_qemu, "-kernel", kernel, "-initrd", initrd, "-display", "none",
            "-monitor", "none", "-serial", "stdio", "-no-reboot", "-append", append]


class Boot:
    """Starts QEMU; lines() yields (seconds since start, console line) until
    the caller stops or cap seconds pass; the VM is killed on exit."""

    def __init__(self, cmd):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def lines(self, cap=30):
        for raw in self.proc.stdout:
            t = time.monotonic() - self.t0
            yield t, raw.decode(errors="replace")
            if t > cap:
                return

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
