"""PDF reports on A4 (issue 14): a section heading never ends a page without its first rows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pos_app.ui.report_export import PAGE_A4, export_pdf, paginate, section_label
from tests.ui.report_fixtures import full_figures


@pytest.mark.parametrize("offset", range(12))
def test_a_heading_moves_to_the_next_page_with_its_rows(offset: int) -> None:
    kinds = ["title"] + ["row"] * offset + ["heading", "row", "row", "row", "heading", "row"] * 6
    pages = paginate(kinds, per_page=10)
    assert [i for page in pages for i in page] == list(range(len(kinds)))      # every line once, in order
    assert all(0 < len(page) <= 10 for page in pages)
    for page in pages:
        for pos, i in enumerate(page):
            if kinds[i] == "heading":
                rows = next((n for n, k in enumerate(kinds[i + 1:]) if k != "row"), len(kinds) - i - 1)
                assert pos + min(2, rows) < len(page), (offset, page)        # its first rows follow on the page


def test_the_a4_pdf_never_strands_a_heading(qtbot: Any, tmp_path: Path) -> None:
    assert shutil.which("pdftotext") is not None, "pdftotext missing: apt-get install poppler-utils"
    figures = full_figures()
    move = figures["movements"][0]
    figures["movements"] = [dict(move, reason=f"change {i}") for i in range(140)]   # a report of several pages
    path = export_pdf(figures, tmp_path / "z.pdf", page=PAGE_A4)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          timeout=30).stdout.decode("utf-8")
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 3
    headings = {section_label(s) for s in ("sales", "tax", "tender cash", "cash", "movements", "voids", "members",
                                           "sync", "alipay", "approvals")}
    for page in pages[:-1]:
        last = [ln.strip() for ln in page.splitlines() if ln.strip()][-1]
        assert last not in headings, last
    assert "change 139" in text and "change 0" in text
