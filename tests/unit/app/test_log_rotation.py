"""Several processes write pos.log at once (the terminal, its sync and report children): rotation loses no
line and never mixes files up (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_WRITER = """
import logging, sys
from pathlib import Path
from pos_app.logs import setup_logging
setup_logging(Path(sys.argv[1]), max_bytes=4000, backups=500)
log = logging.getLogger("writer")
for k in range(int(sys.argv[3])):
    log.info("%s line %05d %s", sys.argv[2], k, "x" * 40)
"""


def test_processes_sharing_pos_log_lose_no_line_when_it_rotates(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    logs = tmp_path / "logs"
    env = {**os.environ, "PYTHONPATH": str(root)}
    lines = 600
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(logs), f"p{n}", str(lines)], cwd=root, env=env)
             for n in range(3)]
    assert all(p.wait(120) == 0 for p in procs)
    files = sorted(logs.glob("pos.log*"))
    assert len(files) > 20                       # it rotated many times while the three wrote
    seen: dict[str, int] = {}
    for f in files:
        assert f.stat().st_size <= 4000 + 200, f  # each file rotated near the limit, whoever wrote last
        for line in f.read_text(encoding="utf-8").splitlines():
            key = " ".join(line.split()[-4:-1])   # "p1 line 00042"
            seen[key] = seen.get(key, 0) + 1
    expected = {f"p{n} line {k:05d}" for n in range(3) for k in range(lines)}
    assert set(seen) == expected                 # nothing lost
    assert all(count == 1 for count in seen.values())
