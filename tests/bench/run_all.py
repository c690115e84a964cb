"""Run every tests/bench/bench_*.py and write one Markdown report to tests/bench/RESULTS.md.

Each benchmark module has a ``main()`` that prints its own Markdown table (figure | target |
median | p95 | ...). Each runs in its own process so one cannot skew another's memory figures.
Usage: ``make bench`` or ``.venv/bin/python tests/bench/run_all.py [bench_name ...]``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb // 1024 // 1024} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    wanted = set(argv)
    benches = sorted(p for p in HERE.glob("bench_*.py") if not wanted or p.stem in wanted or p.stem[6:] in wanted)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    sections: list[str] = []
    failed = 0
    for path in benches:
        print(f"== {path.stem}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", f"import runpy; runpy.run_path({str(path)!r})['main']()"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False)
        took = time.monotonic() - started
        print(proc.stdout, end="")
        if proc.returncode != 0:
            failed += 1
            print(proc.stderr[-4000:], file=sys.stderr)
            body = f"**failed** (exit {proc.returncode}):\n\n```\n{proc.stderr[-2000:]}\n```"
        else:
            body = proc.stdout.strip()
        load = os.getloadavg()
        sections.append(f"## {path.stem} ({took:.0f} s)\n\nRun {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load average"
                        f" after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other work on the machine skews figures)"
                        f"\n\n{body}\n")
    if wanted:
        # a partial run replaces its own sections of RESULTS.md and leaves the others as they were
        results = HERE / "RESULTS.md"
        if not failed and results.exists():
            text = results.read_text(encoding="utf-8")
            for section in sections:
                name = section.split(" ", 2)[1]
                start = text.find(f"## {name} (")
                if start < 0:
                    text = text.rstrip("\n") + "\n\n" + section
                    continue
                end = text.find("\n## ", start + 1)
                text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
            results.write_text(text, encoding="utf-8")
            print(f"updated {results}")
        return 1 if failed else 0
    report = (f"# Benchmark results\n\nMachine: {machine()}  \nRun: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC "
              f"with `make bench`.\n\n" + "\n".join(sections))
    (HERE / "RESULTS.md").write_text(report, encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
