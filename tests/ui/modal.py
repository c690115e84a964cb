"""Drive nested modal dialogs (exec) from a test: each step waits for its dialog, then acts with keys/clicks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QWidget

Step = tuple[Callable[[QWidget], bool], Callable[[QWidget], None]]


def is_a(name: str, extra: Callable[[QWidget], bool] | None = None) -> Callable[[QWidget], bool]:
    return lambda w: type(w).__name__ == name and (extra is None or extra(w))


class ModalScript:
    """Run ``steps`` in order; each waits (polling) for the active modal widget its predicate accepts.

    The next step is scheduled *before* an action runs, because an action may open a nested modal
    dialog and block in its event loop. If a step is not reached within ``timeout_s`` the script
    rejects every open modal so the test fails instead of hanging; ``error`` says where it stopped.
    """

    def __init__(self, steps: list[Step], timeout_s: float = 15.0) -> None:
        self.steps = steps
        self.done = 0
        self.error = ""
        self.errors: list[BaseException] = []
        self._deadline = time.monotonic() + timeout_s
        QTimer.singleShot(20, lambda: self._run(0))

    def _run(self, i: int) -> None:
        if i >= len(self.steps) or self.error:
            return
        pred, action = self.steps[i]
        w = QApplication.activeModalWidget()
        if w is None or not pred(w):
            if time.monotonic() > self._deadline:
                self.error = f"step {i} not reached (active modal: {type(w).__name__ if w else None})"
                self._abort()
                return
            QTimer.singleShot(20, lambda: self._run(i))
            return
        QTimer.singleShot(30, lambda: self._run(i + 1))
        try:
            action(w)
        except Exception as exc:  # noqa: BLE001 - reported by finish()
            self.errors.append(exc)
            self.error = f"step {i} failed: {exc!r}"
            self._abort()
        self.done = max(self.done, i + 1)

    def _abort(self) -> None:
        for _ in range(10):
            w = QApplication.activeModalWidget()
            if isinstance(w, QDialog):
                w.reject()
            else:
                break

    def finish(self, qtbot: Any = None) -> None:
        """Check every step ran; with ``qtbot``, first wait for the steps (or the script's own deadline)."""
        if qtbot is not None:
            qtbot.waitUntil(lambda: self.done == len(self.steps) or bool(self.error), timeout=30_000)
        if self.errors:
            raise self.errors[0]
        assert not self.error, self.error
        assert self.done == len(self.steps), f"only {self.done} of {len(self.steps)} steps ran"


def type_into(widget: QWidget, text: str, enter: bool = False) -> None:
    widget.setFocus()
    if text.isascii():
        QTest.keyClicks(widget, text)
    else:  # QTest cannot type CJK (an input method composes it): commit it the way an IME does
        widget.insert(text)  # type: ignore[attr-defined]
    if enter:
        QTest.keyClick(widget, Qt.Key.Key_Return)


def click(button: QWidget) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def supervisor_approves(number: str = "9001", pin: str = "9999") -> Step:
    """The ApprovalDialog step: number, Enter (focus moves to the PIN), PIN, Enter."""
    def act(w: Any) -> None:
        type_into(w.number, number, enter=True)
        type_into(w.pin, pin, enter=True)
    return is_a("ApprovalDialog"), act


def press(key: Qt.Key) -> Callable[[QWidget], None]:
    return lambda w: QTest.keyClick(w, key)
