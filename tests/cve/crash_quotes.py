#!/usr/bin/env python3
"""Crash quotes in the Linux kernel CNA's CVE records, read by ktriage (issue 11).

About 2,500 kernel commit messages quote a crash with a call trace; the CNA
publishes them as the descriptions of its CVE records. This checker finds the
first call trace of each description with its own rules (below; it shares no
code with ktriage's parser), runs `ktriage analyze --json` on the description
as it is published, and measures over the descriptions whose first call trace
has at least two frames:

  found   a report is found at all;
  frames  one report holds every frame of that trace, in order (function
          names; inline frames count; ktriage may list more frames).

Commands:
  measure  --records CLONE            every record of the clone
  excerpt  --records CLONE --out DIR  write a sample of descriptions with the
                                      expected frames (DIR/expected.jsonl)
  check    --data DIR                 the checked-in sample (CI)
  syzkaller --corpus DIR              syzkaller's report corpus
                                      (pkg/report/testdata/linux/report):
                                      each non-corrupted case whose first call
                                      trace has 2+ frames, against ktriage's
                                      first report (the one syzkaller titles);
                                      NOT_THE_REPORTS_TRACE lists the cases
                                      whose first trace is another's

`measure` and `check` take --ktriage BIN and --min-found/--min-frames (fail
below); --misses FILE writes each miss as a JSON line. Exit status: 0 ok,
1 below a floor, 77 (ctest: skipped) when the records are not there.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# --- the first call trace of a description (the checker's own rules) ---------

# Anything people put before a console line: quoting, indentation, dmesg
# timestamps ("[  12.3]", "[  +0.000002]"), printk caller ids, syslog dates.
PREFIX = re.compile(
    r"^(?:[|>]\s?)*\s*(?:<\d>)?"
    r"(?:[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \S+ kernel: )?"
    r"(?:\[\s*\+?\d+\.\d+\]\s?)?(?:\[\s*[TC]\d+\]\s?)?\s*"
)
TRACE_START = re.compile(r"(?:^|\s)(?:Call [Tt]race:|Backtrace:)\s*$")
CONTEXT = re.compile(r"^</?(?:IRQ|TASK|NMI|SOFTIRQ|EOI|#[A-Z]{2})>$|^<EOI>\s*$")
ELISION = re.compile(r"^(?:\.\.\.+|\[\s*\.\.\.\s*\]|<\s*snip\s*>|\[\s*snip\s*\]|…|\[\s*…\s*\])$", re.I)

NAME = r"[A-Za-z_.$][\w.$]*"
OFFSET = r"\+(?:0x[0-9a-f]+/0x[0-9a-f]+|0x[0-9a-f]+|\d+)"
MODULE = r"(?: \[[\w-]+(?: [0-9a-f]+)?\])"
SOURCE = r"(?: \(?[\w./+-]+\.[chSs]:\d+(?::\d+)?(?: \(discriminator \d+\))?\)?)"
TAIL = r"(?: \((?:unreliable|[A-Z]|\?:\?)\))?"
ADDR = r"(?:\[<?[0-9a-fx]+>?\] ?)"
FRAME = re.compile(
    rf"^{ADDR}{{0,2}}(?:\? )?(?P<fn>{NAME})"
    rf"(?:{OFFSET}{MODULE}?{SOURCE}?{TAIL}"        # func+0x1/0x2 [mod] file.c:12
    rf"|{MODULE}?{SOURCE}(?: \[inline\])?{TAIL}"   # func file.c:12 [inline], func (file.c:12)
    rf")\s*$"
)
# arm: "[<pc>] (func+0x1/0x2) from [<pc>] (caller+0x3/0x4)", 6.x "func from caller+0x3/0x4".
ARM = re.compile(
    rf"^{ADDR}?\(?(?P<fn>{NAME})(?:{OFFSET})?\)?{MODULE}? from {ADDR}?\(?(?P<caller>{NAME})(?:{OFFSET})?\)?{MODULE}?\s*$"
)
# A name alone ("zlib_inflate"): a frame without offset, taken only inside a trace.
BARE = re.compile(rf"^(?:\? )?(?P<fn>[a-z_][\w.]*_[\w.]*|[a-z][a-z0-9]+)\s*$")


def body(line):
    return PREFIX.sub("", line, count=1).rstrip()


def frames_of(lines):
    """Frames of the trace in `lines` (the lines after its Call Trace: line)."""
    out = []
    caller = None
    for line in lines:
        b = body(line)
        if not b.strip():
            break
        if CONTEXT.match(b) or ELISION.match(b):
            continue
        m = ARM.match(b)
        if m:
            out.append(m.group("fn"))
            caller = m.group("caller")
            continue
        if caller:
            out.append(caller)  # the last arm line names its caller only there
            caller = None
        m = FRAME.match(b) or (BARE.match(b) if out else None)
        if not m:
            break
        out.append(m.group("fn"))
    if caller:
        out.append(caller)
    return out


def first_trace(description):
    """Function names of the first call trace, innermost first ([] if none)."""
    lines = description.splitlines()
    for i, line in enumerate(lines):
        if TRACE_START.search(body(line)):
            return frames_of(lines[i + 1:])
    return []


# --- records -------------------------------------------------------------------

def description_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        try:
            rec = json.load(f)
            return next(d["value"] for d in rec["containers"]["cna"]["descriptions"] if d["lang"].startswith("en"))
        except (ValueError, KeyError, StopIteration):
            return None


def records(root):
    if os.path.isdir(os.path.join(root, "cve", "published")):
        root = os.path.join(root, "cve", "published")
    for path in sorted(glob.glob(os.path.join(root, "*", "CVE-*.json"))):
        desc = description_of(path)
        if desc is not None:
            yield os.path.basename(path)[:-5], desc


def cases_from_records(root):
    """(cve, description, expected frames) with a first trace of 2+ frames."""
    for cve, desc in records(root):
        frames = first_trace(desc)
        if len(frames) >= 2:
            yield cve, desc, frames


# --- running ktriage -------------------------------------------------------------

def is_subsequence(want, have):
    it = iter(have)
    return all(any(w == h for h in it) for w in want)


def run_ktriage(ktriage, cases, per_file):
    """Writes each description to a file, runs one `ktriage analyze` over the
    directory, returns {cve: [reports]}."""
    work = tempfile.mkdtemp(prefix="ktriage-cve-")
    try:
        names = {}
        for cve, desc, _ in cases:
            path = os.path.join(work, cve + ".txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(desc)
            names[cve] = path
        out = {cve: [] for cve in names}
        if per_file:  # ktriage before it took several inputs
            for cve, path in names.items():
                p = subprocess.run([ktriage, "analyze", "--json", "--no-shipped-kb", path], capture_output=True, text=True)
                if p.returncode in (0, 1):
                    out[cve] = json.loads(p.stdout)["reports"]
            return out
        batch = 400  # several inputs per run; each report names its source
        for i in range(0, len(cases), batch):
            paths = [names[c[0]] for c in cases[i:i + batch]]
            p = subprocess.run([ktriage, "analyze", "--json", "--no-shipped-kb"] + paths,
                               capture_output=True, text=True)
            if p.returncode not in (0, 1):
                sys.exit("crash_quotes: ktriage failed: " + p.stderr.strip())
            for r in json.loads(p.stdout)["reports"]:
                cve = os.path.basename(r["source"])[:-4]
                out[cve].append(r)
        return out
    finally:
        shutil.rmtree(work)


def grade(ktriage, cases, args, what):
    got = run_ktriage(ktriage, cases, args.per_file)
    found = complete = 0
    misses = []
    for cve, _, want in cases:
        reports = got.get(cve, [])
        if reports:
            found += 1
        best = max(reports, key=lambda r: sum(1 for f in r["frames"] if f["function"] in want), default=None)
        ok = any(is_subsequence(want, [f["function"] for f in r["frames"]]) for r in reports)
        if ok:
            complete += 1
        else:
            misses.append({"cve": cve, "reports": len(reports), "want": want,
                           "got": [f["function"] for f in best["frames"]] if best else [],
                           "title": best["title"] if best else None})
    n = len(cases)
    pf, pc = 100.0 * found / n, 100.0 * complete / n
    print("crash quotes (%s): %d descriptions whose first call trace has 2+ frames" % (what, n))
    print("  report found:      %5d  %.1f%%" % (found, pf))
    print("  all frames found:  %5d  %.1f%%" % (complete, pc))
    if args.misses:
        with open(args.misses, "w") as f:
            for m in misses:
                f.write(json.dumps(m) + "\n")
    ok = pf >= 100 * args.min_found and pc >= 100 * args.min_frames
    if not ok:
        print("crash_quotes: below the floors (found >= %.0f%%, frames >= %.0f%%)" %
              (100 * args.min_found, 100 * args.min_frames))
    return 0 if ok else 1


def cmd_measure(args):
    if not os.path.isdir(args.records):
        print("crash_quotes: %s not found: skipped" % args.records)
        return 77
    return grade(args.ktriage, list(cases_from_records(args.records)), args, "all records")


def cmd_check(args):
    expected = os.path.join(args.data, "expected.jsonl")
    cases = []
    with open(expected) as f:
        for line in f:
            e = json.loads(line)
            with open(os.path.join(args.data, e["cve"] + ".txt"), encoding="utf-8") as d:
                cases.append((e["cve"], d.read(), e["frames"]))
    return grade(args.ktriage, cases, args, "checked-in excerpts")


NOTICE = """The files in this directory are descriptions of CVE records published by
the Linux kernel CNA, copied unchanged (one CVE-YYYY-NNNNN.txt per record,
the record's containers.cna.descriptions[en].value), and expected.jsonl,
the frames of each description's first call trace as tests/cve/crash_quotes.py
reads them (its own rules; no ktriage code).

  repository: {repository}
  branch:     {branch}
  commit:     {commit}
  date:       {date}

Written by `tests/cve/crash_quotes.py excerpt` (every k-th record, by CVE id,
whose first call trace has 2+ frames, plus the records named with --include).

CVE is a registered trademark of The MITRE Corporation.
Copyright (c) 1999-{year} The MITRE Corporation.

The records are used under the CVE Terms of Use
(https://www.cve.org/Legal/TermsOfUse), reproduced below as the records'
repository ships it (LICENSES/cve-tou.txt):

{terms}"""


def git(clone, *args):
    return subprocess.run(["git", "-C", clone] + list(args), capture_output=True, text=True).stdout.strip()


def cmd_excerpt(args):
    """Every k-th qualifying record (by CVE id), so the sample spans the years
    and the formats, plus --include; the description as published, and its
    expected frames; NOTICE with the provenance and the Terms of Use."""
    cases = list(cases_from_records(args.records))
    step = max(1, len(cases) // args.count)
    chosen = cases[::step][:args.count]
    include = set(args.include.split(",")) if args.include else set()
    have = {c[0] for c in chosen}
    chosen += [c for c in cases if c[0] in include and c[0] not in have]
    chosen.sort()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "expected.jsonl"), "w") as f:
        for cve, desc, frames in chosen:
            with open(os.path.join(args.out, cve + ".txt"), "w", encoding="utf-8") as d:
                d.write(desc)
            f.write(json.dumps({"cve": cve, "frames": frames}) + "\n")
    with open(os.path.join(args.records, "LICENSES", "cve-tou.txt"), encoding="utf-8") as t:
        terms = t.read()
    date = git(args.records, "log", "-1", "--format=%cs")
    with open(os.path.join(args.out, "NOTICE"), "w", encoding="utf-8") as n:
        n.write(NOTICE.format(repository=args.repository, branch=git(args.records, "rev-parse", "--abbrev-ref", "HEAD"),
                              commit=git(args.records, "rev-parse", "HEAD"), date=date, year=date[:4],
                              terms=terms))
    print("crash_quotes: wrote %d of %d descriptions to %s" % (len(chosen), len(cases), args.out))
    return 0


# Cases of syzkaller's corpus whose first "Call Trace:" in the text is not the
# trace of the report syzkaller titles, checked by hand: the rule above cannot
# tell, and a report that took that trace would be wrong.
NOT_THE_REPORTS_TRACE = {
    "197": "a GPF of task 8694 on CPU 1 interleaved into task 8685's KASAN report",
    "340": "one frame (kfree) of another context, [C3], inside task 5851's trace",
    "347": "the trace is FAULT_INJECTION's, printed before the WARNING",
    "348": "the trace is FAULT_INJECTION's, printed before the WARNING",
    "353": "trusty's assertion fails in the secure world; the trace is the Linux driver's WARNING",
    "354": "trusty's assertion fails in the secure world; the trace is the Linux driver's WARNING",
    "355": "trusty's assertion fails in the secure world; the trace is the Linux driver's WARNING",
    "449": "KCSAN prints its two traces without 'Call Trace:'; the first such line is the panic's",
    "602": "the trace is an 'unchecked MSR access error' warning's, no crash report",
    "626": "KMSAN prints its trace without 'Call Trace:'; the first such line is the panic's",
    "662": "the first trace is task 48's, the report is task 3608's",
    "694": "the first trace is task 5218's panic, the report is task 15335's KASAN",
}


def syzkaller_cases(root):
    """(name, log, expected frames) of syzkaller's corpus: the cases it does
    not call corrupted whose first call trace has 2+ frames."""
    for path in sorted(glob.glob(os.path.join(root, "*"))):
        if not os.path.basename(path).isdigit():
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        head, _, log = text.partition("\n\n")
        fields = dict(l.split(": ", 1) for l in head.splitlines() if ": " in l)
        if not fields.get("TITLE") or fields.get("CORRUPTED") == "Y":
            continue
        frames = first_trace(log)
        if len(frames) >= 2:
            yield os.path.basename(path), log, frames


def cmd_syzkaller(args):
    if not os.path.isdir(args.corpus):
        print("crash_quotes: %s not found: skipped" % args.corpus)
        return 77
    cases = list(syzkaller_cases(args.corpus))
    excluded = [c for c in cases if c[0] in NOT_THE_REPORTS_TRACE]
    cases = [c for c in cases if c[0] not in NOT_THE_REPORTS_TRACE]
    got = run_ktriage(args.ktriage, cases, args.per_file)
    complete = 0
    misses = []
    for name, _, want in cases:
        reports = got.get(name, [])
        have = [f["function"] for f in reports[0]["frames"]] if reports else []
        if is_subsequence(want, have):
            complete += 1
        else:
            misses.append({"case": name, "want": want, "got": have})
    print("syzkaller corpus: %d non-corrupted cases whose first call trace has 2+ frames" % len(cases))
    print("  all frames in the first report: %d  %.1f%%" % (complete, 100.0 * complete / max(1, len(cases))))
    if excluded:
        print("  not counted (first trace is not the report's, checked by hand): %s"
              % " ".join(name for name, _, _ in excluded))
    if args.misses:
        with open(args.misses, "w") as f:
            for m in misses:
                f.write(json.dumps(m) + "\n")
    return 0 if complete >= args.min_frames * len(cases) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("measure", "check"):
        p = sub.add_parser(name)
        p.add_argument("--ktriage", required=True)
        p.add_argument("--min-found", type=float, default=0.0)
        p.add_argument("--min-frames", type=float, default=0.0)
        p.add_argument("--misses", help="write each miss as a JSON line here")
        p.add_argument("--per-file", action="store_true", help="one ktriage run per description")
        if name == "measure":
            p.add_argument("--records", required=True, help="clone of the records (or its cve/published)")
        else:
            p.add_argument("--data", required=True, help="directory of excerpts and expected.jsonl")
    p = sub.add_parser("syzkaller")
    p.add_argument("--ktriage", required=True)
    p.add_argument("--corpus", required=True, help="pkg/report/testdata/linux/report of a syzkaller checkout")
    p.add_argument("--min-frames", type=float, default=0.0)
    p.add_argument("--misses")
    p.add_argument("--per-file", action="store_true")
    p = sub.add_parser("excerpt")
    p.add_argument("--records", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--include", help="comma-separated CVE ids to keep besides the sample")
    p.add_argument("--repository", default="github:thefossguy-ciq/kernel-security-vulns",
                   help="the clone's origin, for the provenance")
    args = ap.parse_args()
    return {"measure": cmd_measure, "check": cmd_check, "excerpt": cmd_excerpt,
            "syzkaller": cmd_syzkaller}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
