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
    # store mode: the store server is PostgreSQL; this layer never touches the lane's SQLite or the UI
    "store": {"psycopg"},
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
    if layer == "store":
        return (name.startswith(("pos_app.domain", "pos_app.services.ports", "pos_app.store"))
                or top in THIRD_PARTY_OF["store"])
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


LAYERS = ["domain", "services", "storage", "alipay", "sandbox", "ui", "store"]


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
                or rel in ("pos_app/app.py",):
            continue
        if any(n.split(".")[0] in QT for n in _imports(path)):
            offenders.append(rel)
    assert not offenders, f"PySide6 imported outside ui/ and drivers/*_qt.py: {offenders}"


# The top-level modules and the command line: what each may NOT import (besides the rule above that keeps
# Qt in ui/, drivers/*_qt.py and the shell app.py). Storage and Alipay adapters are built only by the
# composition modules (bootstrap.py and its gateway_setup.py); everything else reaches them through it.
ADAPTERS = ("pos_app.storage", "pos_app.alipay")
SHELL_ONLY = ("pos_app.ui", "pos_app.app", "pos_app.demo", "pos_app.cli", *QT)
TOP_LEVEL_FORBIDDEN: dict[str, tuple[str, ...]] = {
    "__init__": ("pos_app.", *QT),
    "__main__": (*ADAPTERS, "pos_app.ui", "pos_app.app", "pos_app.sandbox", *QT),
    "bootstrap": SHELL_ONLY,                        # the one composition root: no Qt, no windows
    "gateway_setup": (*SHELL_ONLY, "pos_app.storage", "pos_app.bootstrap"),
    "app": (*ADAPTERS, "pos_app.sandbox", "pos_app.cli"),       # the Qt shell: through the bootstrap
    "demo": (*ADAPTERS, "pos_app.cli", *QT),                    # demo scripting: sandbox + bootstrap + ui
    "printing": (*ADAPTERS, *SHELL_ONLY, "pos_app.sandbox", "pos_app.bootstrap"),
    "settings": ("pos_app.", "drivers", *QT),
    # chores and the support report (issue 17): storage through the bootstrap like the command line
    "housekeeping": (*ADAPTERS, "pos_app.ui", "pos_app.app", "pos_app.cli", "pos_app.demo", *QT),
    "doctor": (*ADAPTERS, "pos_app.ui", "pos_app.app", "pos_app.cli", "pos_app.demo", *QT),
    "setup_desktop": ("pos_app.", *QT),
    "keepalive": ("pos_app.", "drivers", *QT),                  # restarts the till as a child: stdlib only
    "runtime": ("pos_app.", "drivers", *QT),
    "logs": ("pos_app.", "drivers", *QT),
    # card (issue 15): composition for the reconciliation, the card template and the opening endpoint
    "reconcile_runner": SHELL_ONLY,
    "card_setup": SHELL_ONLY,
    "card_desk": SHELL_ONLY,
    "card_endpoint": SHELL_ONLY,
    # data (issue 12): the loyalty rules from the settings, and the terminal's daily journal export
    "loyalty_setup": (*ADAPTERS, *SHELL_ONLY, "pos_app.sandbox", "pos_app.bootstrap"),
    "daily_export": (*ADAPTERS, *SHELL_ONLY, "pos_app.sandbox"),
    "data_protection": ("pos_app.", "drivers", *QT),            # file modes: stdlib only
    "start_checks": (*SHELL_ONLY, "pos_app.sandbox"),          # the start gate: composition, like bootstrap
    # store mode's composition modules (issue 13): the lane's store link, the store's card worker
    "store_wiring": SHELL_ONLY,
    "store_card": (*SHELL_ONLY, "pos_app.storage"),
    "store_points": SHELL_ONLY,                                 # the till's points gate in store mode
}
CLI_FORBIDDEN = (*ADAPTERS, "pos_app.demo", *QT)   # the command line: storage and Alipay only via the bootstrap


def _forbidden(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p.rstrip(".") or name.startswith(p if p.endswith(".") else p + ".") or name == p
               for p in prefixes)


def test_every_top_level_module_has_a_rule() -> None:
    modules = {p.stem for p in (ROOT / "pos_app").glob("*.py")}
    assert modules == set(TOP_LEVEL_FORBIDDEN), f"add a rule for: {sorted(modules ^ set(TOP_LEVEL_FORBIDDEN))}"


# settings.py validates as the start does: it builds the readers and printers from their URLs (drivers, which
# import no pos_app) and the loyalty rules (pure domain), so `config check` and the terminal refuse the same.
TOP_LEVEL_ALLOWED = {"settings": ("drivers", "pos_app.domain")}


@pytest.mark.parametrize("module", sorted(TOP_LEVEL_FORBIDDEN))
def test_top_level_module_imports(module: str) -> None:
    path = ROOT / "pos_app" / f"{module}.py"
    bad = [name for name in _imports(path) if _forbidden(name, TOP_LEVEL_FORBIDDEN[module])
           and not _forbidden(name, TOP_LEVEL_ALLOWED.get(module, ()))]
    assert not bad, f"pos_app/{module}.py imports {bad}"


def test_cli_reaches_storage_and_alipay_only_through_the_bootstrap() -> None:
    bad = [f"{p.relative_to(ROOT)} imports {name}" for p in _files("pos_app/cli") for name in _imports(p)
           if _forbidden(name, CLI_FORBIDDEN)]
    assert not bad, "\n".join(bad)


def test_the_top_level_rules_catch_a_violation() -> None:
    assert _forbidden("pos_app.storage.db", CLI_FORBIDDEN)
    assert _forbidden("PySide6.QtWidgets", TOP_LEVEL_FORBIDDEN["bootstrap"])
    assert not _forbidden("pos_app.bootstrap", CLI_FORBIDDEN)
    assert not _forbidden("pos_app.storagex", ("pos_app.storage",))


def test_the_rule_itself_catches_a_violation(tmp_path: Path) -> None:
    bad = ROOT / "pos_app" / "domain" / "money.py"
    assert _allowed("domain", "pos_app.domain.errors", bad)
    assert not _allowed("domain", "sqlite3", bad)
    assert not _allowed("ui", "pos_app.storage.db", ROOT / "pos_app/ui/x.py")
    assert not _allowed("drivers", "PySide6.QtCore", ROOT / "drivers/camera.py")
    assert _allowed("drivers", "PySide6.QtCore", ROOT / "drivers/wedge_qt.py")
    assert _allowed("store", "psycopg.sql", ROOT / "pos_app/store/x.py")
    assert not _allowed("store", "sqlite3", ROOT / "pos_app/store/x.py")
    assert not _allowed("store", "pos_app.storage.db", ROOT / "pos_app/store/x.py")
    assert not _allowed("ui", "psycopg", ROOT / "pos_app/ui/x.py")


def test_tests_never_read_the_shared_folder() -> None:
    """A fresh clone alone passes: test data lives in tests/data, never in ../shared."""
    import re

    pattern = re.compile(r"""/ ["']shared["']|\.\./shared/|/work/shared""")
    offenders = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "tests").rglob("*.py"))
                 if p.name != "test_architecture.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"tests reading ../shared (copy the data into tests/data/): {offenders}"
