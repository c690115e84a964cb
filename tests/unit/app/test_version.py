"""One version number: the wheel's (pyproject) and the program's (`pos-app --version`) are the same.

pip does not replace an installed version by a wheel with the same number, so an upgrade of a store PC
(`pipx install --force ./pos_app-<new>.whl`) only happens when each release carries its own number.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pos_app

ROOT = Path(__file__).resolve().parents[3]


def test_the_wheel_and_the_program_say_the_same_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == pos_app.__version__
    assert f"pos_app-{pos_app.__version__}-py3-none-any.whl" in (ROOT / "README.md").read_text(encoding="utf-8")
