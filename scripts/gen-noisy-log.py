#!/usr/bin/env python3
"""Write a big, noisy console log for parser benchmarks.

Real crash logs (shared/corpus: syzkaller cases and distro oopses, plus the
repo's examples/) are interleaved with realistic filler: dmesg boot chatter,
driver messages, systemd, audit, firewall and OOM-killer-free noise, in the
three console shapes seen in the field (dmesg `[ ts]`, syslog
`Mon DD hh:mm:ss host kernel:`, journalctl short-precise).

The file is built from a few "boot" tiles of ~32 MiB, each a self-contained
log with monotonic timestamps, written repeatedly until the requested size
is reached (a long capture that spans many boots). Generation is I/O bound,
about 1 GiB in well under a minute.

    scripts/gen-noisy-log.py --size 1G --out /tmp/noisy.log

The output never goes into the repository. Prints a one-line JSON summary
(bytes, crash logs embedded, 'Call Trace' lines) on stdout.
"""

import argparse
import json
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = REPO.parent / "shared"

DRIVERS = [
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "e1000e 0000:00:19.0 eth0: NIC Link is Down",
    "usb 1-1.{n}: new high-speed USB device number {n} using ehci-pci",
    "usb 1-1.{n}: New USB device found, idVendor=046d, idProduct=c52b, bcdDevice=12.10",
    "usb 2-{n}: USB disconnect, device number {n}",
    "input: Logitech USB Receiver as /devices/pci0000:00/0000:00:14.0/usb1/1-{n}/1-{n}:1.0/input/input{n}",
    "hid-generic 0003:046D:C52B.000{n}: input,hidraw{n}: USB HID v1.11 Keyboard [Logitech USB Receiver]",
    "sd 0:0:0:0: [sda] 976773168 512-byte logical blocks: (500 GB/466 GiB)",
    "sd {n}:0:0:0: [sdb] Write cache: enabled, read cache: enabled, doesn't support DPO or FUA",
    "ata{n}: SATA link up 6.0 Gbps (SStatus 133 SControl 300)",
    "ata{n}.00: configured for UDMA/133",
    "EXT4-fs (sda{n}): mounted filesystem with ordered data mode. Opts: (null)",
    "EXT4-fs (dm-{n}): re-mounted. Opts: errors=remount-ro",
    "XFS (dm-{n}): Mounting V5 Filesystem",
    "XFS (dm-{n}): Ending clean mount",
    "nvme nvme0: {n}/0/0 default/read/poll queues",
    "iwlwifi 0000:03:00.0: loaded firmware version 36.ca7b901d.0 op_mode iwlmvm",
    "wlp3s0: authenticate with 3c:37:86:1a:{n}{n}:0f",
    "wlp3s0: associated",
    "IPv6: ADDRCONF(NETDEV_CHANGE): wlp3s0: link becomes ready",
    "bridge: filtering via arp/ip/ip6tables is no longer available by default.",
    "br0: port {n}(veth{n}a2b) entered forwarding state",
    "device veth{n}c3f entered promiscuous mode",
    "docker0: port {n}(vethab{n}) entered blocking state",
    "TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.  Check SNMP counters.",
    "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=10.0.{n}.1 DST=10.0.0.2 LEN=40 TOS=0x00 PROTO=TCP SPT={n}443 DPT=22",
    "nf_conntrack: nf_conntrack: table full, dropping packet",
    "perf: interrupt took too long (2504 > 2500), lowering kernel.perf_event_max_sample_rate to 79750",
    "clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x2b3e459bf4c, max_idle_ns: 440795289890 ns",
    "random: crng init done",
    "ACPI: button: Power Button [PWRF]",
    "i915 0000:00:02.0: [drm] GuC firmware i915/tgl_guc_70.1.1.bin version 70.1",
    "amdgpu 0000:0{n}:00.0: amdgpu: SMU is initialized successfully!",
    "Bluetooth: hci0: Firmware revision 0.{n} build 14 week 44 2021",
    "kvm: already loaded the other module",
    "virbr0: port {n}(vnet{n}) entered disabled state",
    "cgroup: fork rejected by pids controller in /user.slice/user-1000.slice/session-{n}.scope",
    "process 'usr/bin/wine' started with executable stack",
    "loop{n}: detected capacity change from 0 to 126760",
    "squashfs: version 4.0 (2009/01/31) Phillip Lougher",
    "systemd-journald[{n}23]: Received client request to flush runtime journal.",
    "systemd[1]: Started Journal Service.",
    "systemd[1]: Starting Load Kernel Module drm...",
    "systemd[1]: snapd.service: Succeeded.",
    "systemd[1]: Reached target Network is Online.",
    "systemd-udevd[{n}12]: Using default interface naming scheme 'v252'.",
    "audit: type=1400 audit({n}1698.{n}21:{n}4): apparmor=\"STATUS\" operation=\"profile_load\" profile=\"unconfined\" name=\"/usr/bin/man\" pid={n}12 comm=\"apparmor_parser\"",
    "audit: type=1130 audit(1700000{n}12.113:{n}9): pid=1 uid=0 auid=4294967295 ses=4294967295 subj=kernel msg='unit=systemd-tmpfiles-clean comm=\"systemd\" exe=\"/usr/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'",
    "audit: type=1300 audit(1700000{n}13.2:{n}): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid={n}1 pid={n}2 auid=1000 uid=0",
    "SELinux:  Converting {n}17 SID table entries...",
    "device-mapper: uevent: version 1.0.3",
    "md/raid1:md{n}: active with 2 out of 2 mirrors",
    "NFS: Registering the id_resolver key type",
    "RPC: Registered tcp transport module.",
    "igb 0000:0{n}:00.1: eno2: igb: eno2 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX",
    "mlx5_core 0000:3b:00.{n}: E-Switch: Total vports 2, per vport: max uc(1024) max mc(16384)",
    "x86/fpu: Supporting XSAVE feature 0x002: 'SSE registers'",
    "smpboot: CPU {n} is now offline",
    "Memory: 16248084K/16661564K available (14343K kernel code, 2352K rwdata)",
    "pci 0000:00:1c.{n}: PCI bridge to [bus 0{n}]",
    "thermal thermal_zone{n}: failed to read out thermal zone (-61)",
    "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#{n}_DIMM#0 (channel:{n} slot:0 page:0x{n}2e7 offset:0x0 grain:32)",
    "blk_update_request: I/O error, dev sd{n}, sector 20{n}4816 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0",
    "Buffer I/O error on dev sdb{n}, logical block {n}2, async page read",
    "FS-Cache: Loaded",
    "fuse: init (API version 7.37)",
    "traps: gnome-shell[{n}05] trap int3 ip:7f2e5b8 sp:7ffd2a0 error:0 in libglib-2.0.so.0.7200.4[7f2e5b2000+8f000]",
    "a.out[{n}3]: segfault at 0 ip 000055d2 sp 00007ffc error 4 in a.out[55d1000+1000] likely on CPU {n} (core {n}, socket 0)",
    # Benign lines real kernels print that carry crash-report vocabulary.
    "NMI watchdog: Enabled. Permanently consumes one hw-PMU counter.",
    "Kernel command line: BOOT_IMAGE=/vmlinuz-6.1.0-13-amd64 root=UUID=5a1e ro quiet panic=10 oops=panic",
    "Spectre V2 : Mitigation: Retpolines",
    "MDS: Vulnerable: Clear CPU buffers attempted, no microcode; SMT vulnerable",
    "rcu: Hierarchical RCU implementation.",
    "rcu: \tRCU restricting CPUs from NR_CPUS=8192 to nr_cpu_ids={n}.",
    "RAS: Correctable Errors collector initialized.",
    "x86/mm: Checked W+X mappings: passed, no W+X pages found.",
    "Freeing unused kernel image (initmem) memory: 2704K",
    "pstore: Registered efi as persistent store backend",
    "page_owner is disabled",
    "kfence: initialized - using 2097152 bytes for 255 objects at 0x(____ptrval____)-0x(____ptrval____)",
]

JOURNAL_UNITS = [
    "systemd[1]: Started Session {n} of User alice.",
    "sshd[{n}41]: Accepted publickey for alice from 10.0.{n}.7 port 5{n}22 ssh2: ED25519 SHA256:Qm",
    "CRON[{n}77]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "NetworkManager[{n}8]: <info>  [1700000{n}1.4] device (wlp3s0): state change: config -> ip-config",
    "dbus-daemon[{n}9]: [system] Successfully activated service 'org.freedesktop.hostname1'",
    "kernel: usb 3-{n}: reset SuperSpeed USB device number {n} using xhci_hcd",
]

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def crash_logs(shared: Path) -> list[bytes]:
    """Raw console logs with crashes (and some without), from the corpus and examples/."""
    logs: list[bytes] = []
    syz = shared / "corpus" / "syzkaller" / "linux" / "report"
    if syz.is_dir():
        for f in sorted(syz.iterdir(), key=lambda p: p.name):
            data = f.read_bytes().replace(b"\r", b"")
            # Header lines, an empty line, then the raw log.
            cut = data.find(b"\n\n")
            body = data[cut + 2:] if cut >= 0 else data
            if body.strip():
                logs.append(body if body.endswith(b"\n") else body + b"\n")
    distro = shared / "corpus" / "distro" / "logs"
    if distro.is_dir():
        for f in sorted(distro.iterdir(), key=lambda p: p.name):
            data = f.read_bytes()
            if data.strip():
                logs.append(data if data.endswith(b"\n") else data + b"\n")
    examples = REPO / "examples"
    if examples.is_dir():
        for f in sorted(examples.glob("*.log")):
            logs.append(f.read_bytes())
    return logs


class Tile:
    """One boot's worth of log in one console shape."""

    def __init__(self, rng: random.Random, shape: str, host: str):
        self.rng = rng
        self.shape = shape
        self.host = host
        self.ts = rng.uniform(0, 5)
        self.wall = rng.randrange(0, 28 * 86400)
        self.month = MONTHS[rng.randrange(12)]

    def prefix(self) -> str:
        self.ts += self.rng.expovariate(20.0)
        if self.shape == "dmesg":
            return f"[{self.ts:12.6f}] "
        secs = self.wall + int(self.ts)
        day, rest = divmod(secs, 86400)
        clock = f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
        if self.shape == "syslog":
            return f"{self.month} {day % 28 + 1:2d} {clock} {self.host} kernel: [{self.ts:12.6f}] "
        return f"{self.month} {day % 28 + 1:02d} {clock}.{int(self.ts * 1e6) % 1000000:06d} {self.host} "

    def filler(self, count: int) -> str:
        rng = self.rng
        out = []
        for _ in range(count):
            if self.shape == "journal" and rng.random() < 0.3:
                line = rng.choice(JOURNAL_UNITS)
            else:
                line = rng.choice(DRIVERS)
                if self.shape == "journal":
                    line = "kernel: " + line
            out.append(self.prefix() + line.replace("{n}", str(rng.randrange(1, 10))) + "\n")
        return "".join(out)


def build_tile(rng: random.Random, logs: list[bytes], size: int, crash_every: int) -> tuple[bytes, int]:
    """About `size` bytes: filler with a crash log every ~crash_every bytes."""
    shape = rng.choice(["dmesg", "dmesg", "syslog", "journal"])
    tile = Tile(rng, shape, rng.choice(["build-07", "web-3", "localhost", "db1.example.org"]))
    parts: list[bytes] = []
    total = 0
    crashes = 0
    while total < size:
        chunk = tile.filler(max(1, int(rng.expovariate(1.0 / (crash_every / 110))))).encode()
        parts.append(chunk)
        total += len(chunk)
        if logs and total < size:
            log = rng.choice(logs)
            parts.append(log)
            total += len(log)
            crashes += 1
    return b"".join(parts), crashes


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output file (outside the repository)")
    ap.add_argument("--size", default="1G", help="target size, e.g. 1G, 256M (default 1G)")
    ap.add_argument("--shared", default=os.environ.get("KTRIAGE_SHARED_DIR", str(DEFAULT_SHARED)),
                    help="shared/ directory holding corpus/ (default: ../shared beside the repo)")
    ap.add_argument("--crash-every", default="256K",
                    help="average filler bytes between embedded crash logs (default 256K)")
    ap.add_argument("--tiles", type=int, default=4, help="distinct boots before repeating (default 4)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    out = Path(args.out).resolve()
    if REPO in out.parents:
        print(f"gen-noisy-log: refusing to write into the repository: {out}", file=sys.stderr)
        return 2
    size = parse_size(args.size)
    logs = crash_logs(Path(args.shared))
    if not logs:
        print("gen-noisy-log: no crash logs found (shared corpus and examples/ missing)", file=sys.stderr)
        return 2

    rng = random.Random(args.seed)
    tile_size = min(size, 32 << 20)
    tiles = [build_tile(rng, logs, tile_size, parse_size(args.crash_every)) for _ in range(max(1, args.tiles))]

    written = 0
    crashes = 0  # embedded crash logs in the tiles written whole
    with open(out, "wb", buffering=0) as f:
        i = 0
        while written < size:
            data, n = tiles[i % len(tiles)]
            if written + len(data) > size:
                # Cut the last tile at a line boundary; its crash logs are not counted.
                cut = data.rfind(b"\n", 0, size - written) + 1
                data, n = data[:cut], 0
                if not data:
                    break
            f.write(data)
            written += len(data)
            crashes += n
            i += 1
    print(json.dumps({"file": str(out), "bytes": written, "crash_logs_embedded_at_least": crashes,
                      "crash_log_sources": len(logs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
