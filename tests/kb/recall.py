#!/usr/bin/env python3
"""Recall of known-bug matching on the kernel's own CVE records (issue 14).

For every record of the chosen years whose description quotes a crash with
at least three call-trace frames, this checker rebuilds the crash as a fresh
console log the way another machine would print it:

  - prose removed (only the quoted crash's lines are kept, elisions dropped);
  - timestamps, PIDs, addresses, register values and frame offsets changed;
  - the last third of the frames dropped;

then runs `ktriage analyze --json` on it with the shipped index and counts how
often the record's CVE id is among the first three `kb_matches`.

It is an independent checker: it finds the crash and its frames with its own
rules below and shares no code with ktriage's parser or signatures. For each
miss it asks `ktriage kb show --json` what the index holds, so the report can
say which misses come from the index side (the parser could not read the
description) and which from matching.

Exit status: 0 when recall >= --min-recall, 1 below it, 77 (ctest's skip)
when the records are not there.
"""
import argparse
import concurrent.futures
import json
import os
import random
import re
import subprocess
import sys
import tempfile

# --- finding the quoted crash (the checker's own rules) ---------------------

HEADER = re.compile(
    r"\s*(BUG: |WARNING: |WARNING:|Oops|general protection fault|Unable to handle kernel|kernel BUG at|"
    r"UBSAN: |KASAN: |KMSAN: |KCSAN: |KFENCE: |INFO: task .* blocked|INFO: rcu|rcu: INFO:|"
    r"watchdog: BUG: soft lockup|NMI watchdog|Kernel panic - not syncing|possible circular locking|"
    r"possible recursive locking|inconsistent lock state|WARNING: possible|unreferenced object|"
    r"refcount_t: |list_add corruption|list_del corruption|BUG: sleeping function|Internal error: |"
    r"divide error|invalid opcode|stack segment|double fault|BUG: scheduling while atomic|"
    r"INFO: trying to register non-static key|Bad page state|BUG: Bad page)"
)
TS = re.compile(r"^\s*\[\s*\d+\.\d+\]\s?(?:\[\s*[TC]\d+\]\s?)?")
# "func+0x1/0x2", "? func+0x1/0x2", "func+0x1/0x2 [mod]", "[<ffff...>] func+0x..", syzkaller's
# "func+0x1/0x2 file.c:12" and "func file.c:12 [inline]", arm64's "func+0x1/0x2".
FRAME = re.compile(
    r"^\s*(?:\[<[0-9a-f]+>\]\s*)?(?:\? )?(?P<fn>[A-Za-z_][\w.$]*)"
    r"(?:(?P<off>\+0x[0-9a-f]+(?:/0x[0-9a-f]+)?)(?: \[[\w-]+\])?(?: [\w/.+-]+\.[chS]:\d+(?: \[inline\])?)?"
    r"|(?: [\w/.+-]+\.[chS]:\d+ \[inline\]))(?: \([A-Z]\))?\s*$"
)
CRASHY = re.compile(
    r"^\s*(CPU: |Hardware name|Call Trace|Call trace|<TASK>|</TASK>|<IRQ>|</IRQ>|RIP: |RSP: |R[A-Z0-9]{1,2}: |"
    r"Code: |Modules linked in|Workqueue: |pc : |lr : |sp : |x\d+ ?: |pstate: |FS: |CS: |CR2: |DR\d|"
    r"Read of size|Write of size|Allocated by task|Freed by task|The buggy address|Memory state|"
    r"Last potentially|Second to last|Tainted: |---\[ end trace|irq event stamp|hardirqs |softirqs |"
    r"other info|Possible unsafe|\*\*\*\*|-> #|stack backtrace|Chain exists|the existing dependency|"
    r"which lock already|but task is already|  lock\(|        |\s*#\d+: |[0-9a-f]{8,}: |>[0-9a-f]{8,}: |"
    r"Kernel panic|Kernel Offset|---\[ end Kernel panic|Oops|ESR = |EC = |SET = |FSC = |Data abort|"
    r"CM = |ISV = |user pgtable|\[[0-9a-f]{16}\] |page:|flags: |raw: |page dumped|BUG: |WARNING: |"
    r"kasan:|KASAN:|UBSAN:|index \d|shift exponent|load of value|=+$|-+$|\s*\(\S+\)\{|Disabling lock debugging)"
)
ELISION = re.compile(r"^\s*(\[\s*\.\.\.\s*\]|\.\.\.|<snip>|\[snip\]|…)\s*$")
FROM_REPORT_PROSE = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){3,}[.,:]?$")


def is_frame(line):
    return FRAME.match(TS.sub("", line)) is not None


def crash_lines(description):
    """The lines of the first quoted crash, prose and elisions removed."""
    lines = description.splitlines()
    start = None
    for i, line in enumerate(lines):
        if HEADER.match(TS.sub("", line)):
            start = i
            break
    if start is None:
        return []
    out = []
    blank_run = 0
    for line in lines[start:]:
        body = TS.sub("", line).rstrip()
        if not body.strip():
            blank_run += 1
            if blank_run >= 2:
                break
            continue
        looks = bool(is_frame(body) or CRASHY.match(body) or HEADER.match(body) or TS.match(line))
        if blank_run and not looks:
            break  # a blank line, then prose: the quote is over
        blank_run = 0
        if ELISION.match(body):
            continue
        if not looks and FROM_REPORT_PROSE.match(body.strip()):
            continue
        out.append(body.strip("\t").lstrip() if not body.startswith(" ") else body)
    return out


# --- making it look like another machine's log ------------------------------

HEX16 = re.compile(r"\b[0-9a-f]{16}\b")
HEX0X = re.compile(r"\b0x[0-9a-f]{6,}\b")
OFFSET = re.compile(r"\+0x(?P<off>[0-9a-f]+)/0x(?P<size>[0-9a-f]+)")
PID = re.compile(r"\b(PID: |pid: |pid=|task [\w./:-]+/)(\d+)")
TIMESTAMP = re.compile(r"^\s*\[\s*\d+\.\d+\]\s*")


def mutate(line, rng):
    def new_offset(m):
        size = int(m.group("size"), 16)
        off = int(m.group("off"), 16)
        if size > 1:
            choices = [x for x in range(max(1, off - 0x40), min(size, off + 0x40)) if x != off]
            off = rng.choice(choices) if choices else off
        return "+0x%x/0x%x" % (off, size)

    def new_hex16(m):
        text = m.group(0)
        if not text.startswith("ffff"):
            return text  # not an address (ESR, flags, register contents): left as printed
        return text[:4] + "".join(rng.choice("0123456789abcdef") for _ in range(12))

    def new_hex0x(m):
        text = m.group(0)
        if not text.startswith("0xffff"):
            return text  # a small number, a range bound, a size: left as printed
        return text[:6] + "".join(rng.choice("0123456789abcdef") for _ in range(len(text) - 6))

    line = OFFSET.sub(new_offset, line)
    line = HEX16.sub(new_hex16, line)
    line = HEX0X.sub(new_hex0x, line)
    line = PID.sub(lambda m: m.group(1) + str(rng.randint(2, 65000)), line)
    return line


def rebuild(lines, seed):
    """A console log from the crash lines: the last third of frames dropped,
    values changed, fresh timestamps."""
    rng = random.Random(seed)
    frames = [i for i, l in enumerate(lines) if is_frame(l)]
    drop = set(frames[len(frames) - len(frames) // 3:]) if len(frames) >= 3 else set()
    t = rng.uniform(5, 5000)
    out = []
    for i, line in enumerate(lines):
        if i in drop:
            continue
        t += rng.uniform(0, 0.00005)
        out.append("[%12.6f] %s" % (t, mutate(TIMESTAMP.sub("", line), rng)))
    return "\n".join(out) + "\n"


# --- running ktriage ---------------------------------------------------------

def run_one(args, cve, lines, workdir):
    log = os.path.join(workdir, cve + ".log")
    with open(log, "w") as f:
        f.write(rebuild(lines, cve))
    cmd = [args.ktriage, "analyze", "--json", log] + (["--kb", args.kb] if args.kb else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        return cve, False, {"error": p.stderr.strip()}
    doc = json.loads(p.stdout)
    top = [m["id"] for m in doc["kb_matches"][:3]]
    hit = cve in top
    info = {}
    if not hit:
        show = subprocess.run([args.ktriage, "kb", "show", "--json", cve] + (["--kb", args.kb] if args.kb else []),
                              capture_output=True, text=True)
        entry = json.loads(show.stdout) if show.returncode == 0 else {}
        r0 = doc["reports"][0] if doc["reports"] else None
        info = {
            "top": top,
            "index_signature": entry.get("signature"),
            "log_reports": len(doc["reports"]),
            "log_title": r0["title"] if r0 else None,
            "log_frames": len(r0["frames"]) if r0 else 0,
        }
    else:
        os.unlink(log)
    return cve, hit, info


def classify(info):
    sig = info.get("index_signature")
    if "error" in info:
        return "ktriage failed on the rebuilt log"
    if info.get("log_reports", 0) == 0:
        return "no report found in the rebuilt log"
    if not sig:
        return "index: the parser read no crash in the record's description"
    if not sig.get("title"):
        return "index: no title for the description's crash"
    if sig.get("title") != info.get("log_title"):
        return "title differs between the description and the rebuilt log"
    if len(sig.get("frames") or []) < 2:
        return "index: the description's crash parsed with fewer than 2 frames"
    return "matched, but not among the first three"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ktriage", required=True)
    ap.add_argument("--records", required=True, help="vulns clone (or its cve/published)")
    ap.add_argument("--kb", help="extra --kb directory (default: the shipped index only)")
    ap.add_argument("--years", default="2025,2026")
    ap.add_argument("--min-recall", type=float, default=0.0, help="fail below this fraction")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--report", help="write per-record misses (JSON lines) here")
    ap.add_argument("--keep", help="keep the rebuilt logs of misses in this directory")
    args = ap.parse_args()

    root = args.records
    if os.path.isdir(os.path.join(root, "cve", "published")):
        root = os.path.join(root, "cve", "published")
    if not os.path.isdir(root):
        print("recall: %s not found: skipped" % args.records)
        return 77

    cases = []
    for year in args.years.split(","):
        d = os.path.join(root, year)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not (name.startswith("CVE-") and name.endswith(".json")):
                continue
            with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
                try:
                    rec = json.load(f)
                    desc = next(x["value"] for x in rec["containers"]["cna"]["descriptions"] if x["lang"].startswith("en"))
                except (ValueError, KeyError, StopIteration):
                    continue
            lines = crash_lines(desc)
            if sum(1 for l in lines if is_frame(l)) >= 3:
                cases.append((name[:-5], lines))
    if not cases:
        print("recall: no record with a quoted crash of 3+ frames under %s: skipped" % root)
        return 77

    workdir = args.keep or tempfile.mkdtemp(prefix="ktriage-recall-")
    os.makedirs(workdir, exist_ok=True)
    hits = 0
    misses = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for cve, hit, info in pool.map(lambda c: run_one(args, c[0], c[1], workdir), cases):
            if hit:
                hits += 1
            else:
                info["cve"] = cve
                info["why"] = classify(info)
                misses.append(info)
    if not args.keep:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)

    recall = hits / len(cases)
    print("recall: %d of %d records (%s) with a quoted crash of 3+ frames: %.1f%% have their CVE among the "
          "first three kb_matches" % (hits, len(cases), args.years, 100 * recall))
    why = {}
    for m in misses:
        why.setdefault(m["why"], []).append(m["cve"])
    for reason, cves in sorted(why.items(), key=lambda x: -len(x[1])):
        print("  missed %4d: %s (e.g. %s)" % (len(cves), reason, ", ".join(cves[:4])))
    if args.report:
        with open(args.report, "w") as f:
            for m in misses:
                f.write(json.dumps(m) + "\n")
    if recall < args.min_recall:
        print("recall: below the required %.1f%%" % (100 * args.min_recall))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
