"""Store mode's link runs in its own supervised process, not as threads of the terminal (issue 18: the
uplink polls every 0.1 s and the pull every second; as threads they took the GIL from the GUI thread)."""

from __future__ import annotations

import os
import threading
from typing import Any

from pos_app.store import schema
from tests.store.test_terminal_store import _store_env, make_terminal


def test_the_store_link_is_a_child_of_the_terminal(qtbot: Any, tmp_path: Any, store_db: Any,
                                                   monkeypatch: Any) -> None:
    with store_db.admin() as c:
        creds = schema.add_lane(c, "t1")
    _store_env(monkeypatch, store_db.server.dsn(store_db.name, creds.role), creds.password)
    terminal = make_terminal(qtbot, tmp_path)
    try:
        link = terminal.store_link
        qtbot.waitUntil(lambda: link.status()[0] == "Store server online", timeout=15_000)
        pid = link.pid
        assert pid is not None and pid != os.getpid()
        assert not [t.name for t in threading.enumerate() if t.name.startswith("store-")]
    finally:
        terminal.shutdown()
    assert link.pid is None                                    # stopped with the terminal
    with store_db.admin() as c:                                # the demo login's shift reached the store
        assert c.execute("SELECT count(*) FROM pos.shift_event WHERE kind = 'open'").fetchone()[0] >= 1
