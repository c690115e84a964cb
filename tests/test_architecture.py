"""The dependency rule of DESIGN.md, checked by parsing every import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)
QT = {"PySide6", "shiboken6"}
THIRD_PARTY_OF = {
    "storage": {"sqlite3"},
    "alipay": {"httpx", "cryptography"},
    # The sandbox stands in for Alipay's servers: it keeps its own state in its own SQLite file.
    "sandbox": {"cryptography", "httpx", "sqlite3"},
}
DRIVER_LIBS = {"serial", "cv2", "numpy", "pyzbar", "escpos", "barcode", "qrcode", "PIL", "usb", "zxingcpp"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = ".".join(path.relative_to(ROOT).with_suffix("").parts[: -node.level])
                names.append(f"{pkg}.{node.module}" if node.module else pkg)
            elif node.module:
                names.append(node.module)
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _allowed(layer: str, name: str, path: Path) -> bool:
    top = name.split(".")[0]
    if top in STDLIB and top not in ("sqlite3", "tkinter"):
        return True
    if top == "__future__":
        return True
    if layer == "domain":
        return name.startswith("pos_app.domain")
    if layer == "services":
        return (name.startswith(("pos_app.domain", "pos_app.services")) or name == "drivers.base"
                or name.startswith("drivers.base"))
    if layer in ("storage", "alipay"):
        return (name.startswith(("pos_app.domain", "pos_app.services.ports", f"pos_app.{layer}"))
                or top in THIRD_PARTY_OF[layer])
    if layer == "sandbox":
        return (name.startswith(("pos_app.sandbox", "pos_app.alipay", "pos_app.domain", "pos_app.services.ports"))
                or top in THIRD_PARTY_OF["sandbox"])
    if layer == "ui":
        return (name.startswith(("pos_app.ui", "pos_app.services", "pos_app.domain", "drivers.base"))
                or top in QT)
    if layer == "drivers":
        if name.startswith("pos_app"):
            return False
        if top in QT:
            return path.name.endswith("_qt.py")
        return name.startswith("drivers") or top in DRIVER_LIBS
    return True


LAYERS = ["domain", "services", "storage", "alipay", "sandbox", "ui"]


@pytest.mark.parametrize("layer", [*LAYERS, "drivers"])
def test_layer_imports_only_what_it_may(layer: str) -> None:
    files = _files("drivers") if layer == "drivers" else _files(f"pos_app/{layer}")
    bad = [f"{p.relative_to(ROOT)} imports {name}" for p in files for name in _imports(p)
           if not _allowed(layer, name, p)]
    assert not bad, "dependency rule broken:\n" + "\n".join(bad)


def test_qt_only_in_ui_and_qt_drivers() -> None:
    offenders = []
    for path in [*_files("pos_app"), *_files("drivers")]:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("pos_app/ui/") or (rel.startswith("drivers/") and rel.endswith("_qt.py")) \
                or rel in ("pos_app/app.py",) or rel.startswith("pos_app/cli/"):
            continue
        if any(n.split(".")[0] in QT for n in _imports(path)):
            offenders.append(rel)
    assert not offenders, f"PySide6 imported outside ui/ and drivers/*_qt.py: {offenders}"


def test_the_rule_itself_catches_a_violation(tmp_path: Path) -> None:
    bad = ROOT / "pos_app" / "domain" / "money.py"
    assert _allowed("domain", "pos_app.domain.errors", bad)
    assert not _allowed("domain", "sqlite3", bad)
    assert not _allowed("ui", "pos_app.storage.db", ROOT / "pos_app/ui/x.py")
    assert not _allowed("drivers", "PySide6.QtCore", ROOT / "drivers/camera.py")
    assert _allowed("drivers", "PySide6.QtCore", ROOT / "drivers/wedge_qt.py")


def test_tests_never_read_the_shared_folder() -> None:
    """A fresh clone alone passes: test data lives in tests/data, never in ../shared."""
    import re

    pattern = re.compile(r"""/ ["']shared["']|\.\./shared/|/work/shared""")
    offenders = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "tests").rglob("*.py"))
                 if p.name != "test_architecture.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"tests reading ../shared (copy the data into tests/data/): {offenders}"
