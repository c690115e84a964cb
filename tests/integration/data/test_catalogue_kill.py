"""Kill the import at any moment (SIGKILL of a real process): the old catalogue or the new one, never a mix."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pos_app.__main__ import main
from tests.integration.data.helpers import catalogue_state, item_row, write_csv

ROOT = Path(__file__).resolve().parents[3]
N = 6_000


def test_sigkill_during_import_leaves_old_or_new(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_file = write_csv(tmp_path / "old.csv", [item_row(n) for n in range(N)])
    new_rows = [item_row(n, price=f"{n % 50 + 1}.25") for n in range(N + 2000)]
    new_file = write_csv(tmp_path / "new.csv", new_rows)
    assert main(["catalogue", "import", str(old_file), "--data-dir", str(data)]) == 0
    db = data / "pos.sqlite3"
    saved_old = tmp_path / "saved_old"
    shutil.copytree(data, saved_old)
    pristine = tmp_path / "pristine"
    shutil.copytree(data, pristine)
    old = catalogue_state(db)
    assert main(["catalogue", "import", str(new_file), "--data-dir", str(pristine), "--full"]) == 0
    new = catalogue_state(pristine / "pos.sqlite3")
    assert old != new
    outcomes = []
    for delay in (0.0, 0.1):
        shutil.rmtree(data)
        shutil.copytree(saved_old, data)
        proc = subprocess.Popen([sys.executable, "-m", "pos_app", "catalogue", "import", str(new_file),
                                 "--data-dir", str(data), "--full"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        with proc.stdout:
            line = proc.stdout.readline()  # "<file>: N items valid; applying": the transaction starts now
            assert "applying" in line
            if delay:
                time.sleep(delay)  # a kill point inside the apply phase, not a wait for a result
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        state = catalogue_state(db)
        assert state in (old, new), "a mix of the old and the new catalogue"
        outcomes.append("old" if state == old else "new")
    assert "old" in outcomes, outcomes
