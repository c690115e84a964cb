"""Secrets never reach a log line."""

from __future__ import annotations

import logging
from pathlib import Path

from pos_app.logs import redact, setup_logging, teardown_logging


def test_payment_codes_cards_signatures_and_keys_are_masked() -> None:
    line = redact("pay auth_code=286648048691290423 card 8800123456789012 url ?sign=AbC%2B/xyz==&x=1 "
                  '{"sign":"QfTb8tqE1BMhS5q"} -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----')
    assert "286648048691290423" not in line and "****0423" in line
    assert "8800123456789012" not in line and "****9012" in line
    assert "AbC%2B" not in line and "QfTb8" not in line
    assert "MIIE" not in line


def test_ordinary_numbers_are_left_alone() -> None:
    assert redact("sale R001000000000123 total 12.50 EAN 6901234567892") == \
        "sale R001000000000123 total 12.50 EAN 6901234567892"


def test_file_log_is_redacted(tmp_path: Path) -> None:
    level = logging.getLogger().level
    path = setup_logging(tmp_path / "logs")
    assert path is not None
    logging.getLogger("pos_app.test").warning("scanned %s", "286648048691290423")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "****0423" in text and "286648048691290423" not in text
    teardown_logging()
    assert not [h for h in logging.getLogger().handlers if getattr(h, "_pos_app", False)]
    assert logging.getLogger().level == level
