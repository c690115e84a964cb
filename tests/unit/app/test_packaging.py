"""The wheel carries what the program reads at run time: resources via pos_app/resources, SQL migrations."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_resource_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    link = ROOT / "pos_app" / "resources"
    assert link.is_symlink() and link.resolve() == (ROOT / "resources").resolve()
    files = [p for p in (ROOT / "resources").rglob("*") if p.is_file() and p.suffix != ".py"]
    files += list((ROOT / "pos_app" / "storage").glob("*.sql"))
    missing = [str(p.relative_to(ROOT)) for p in files if not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    assert files and not missing, f"add their patterns to [tool.setuptools.package-data]: {missing}"


def test_code_finds_resources_beside_the_package() -> None:
    from pos_app.bootstrap import RESOURCES
    from pos_app.ui.i18n import RESOURCES_DIR

    assert RESOURCES == RESOURCES_DIR == ROOT / "pos_app" / "resources"
    assert (RESOURCES / "i18n" / "zh_CN.json").is_file() and (RESOURCES / "styles" / "terminal.qss").is_file()
