"""Counter screens are often 1366x768 or 1024x768: the till must fit them (seen under Xvfb at 1280x800: the
kiosk window was 942 px tall and the last rows of buttons were off the screen)."""

from __future__ import annotations

from typing import Any

from pos_app.app import Terminal
from tests.ui.conftest import WATER, scan


def test_the_checkout_screen_fits_a_1024x768_screen(qtbot: Any, terminal: Terminal) -> None:
    window = terminal.window
    hint = window.minimumSizeHint()
    assert hint.height() <= 768 - 40 and hint.width() <= 1024, hint  # room for a panel/taskbar
    window.resize(1024, 728)
    qtbot.waitUntil(lambda: window.height() <= 728, timeout=5000)
    scan(terminal, "8800000000000017")
    scan(terminal, WATER)
    view = window.controller.view
    # the amount to pay is on screen; the buttons that do not fit scroll, each still reachable by its key
    payable = view.payable
    assert payable.isVisible() and payable.mapTo(window, payable.rect().bottomRight()).y() <= window.height()
    area = view.actions_area
    assert area.verticalScrollBar().maximum() > 0  # more buttons than room: a scroll bar, not a taller window
    last = list(view.buttons.values())[-1]
    area.ensureWidgetVisible(last)
    assert last.visibleRegion().boundingRect().height() > 0
