"""The dependency rule of DESIGN.md, checked by parsing every import."""

from __future__ import annotations

import ast
import re
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
    """A fresh clone alone passes: test data lives in tests/data, never in the design folder beside the
    repository (which a clone elsewhere does not have)."""
    import re

    folder = "sha" + "red"   # spelled in two parts so this guard does not name the folder itself
    pattern = re.compile(rf"""/ ["']{folder}["']|\.\./{folder}/|/work/{folder}""")
    offenders = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "tests").rglob("*.py"))
                 if p.name != "test_architecture.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"tests reading the design folder (copy the data into tests/data/): {offenders}"


# --- Alipay is spoken only in pos_app/alipay (issue 11) ------------------------------------------------------
# Method names, sub-codes, gateway codes, trade and refund statuses and card-number types are Alipay's protocol:
# only pos_app/alipay (and the sandbox that plays Alipay, and the command line's gateway diagnostics) may
# write them. Everywhere else sees typed results (GatewaySuccess.answer), the classification of a refusal
# (kind, refusal, reason) and card events (services/ports/card_events.py). A raw answer body is not read there.
ALIPAY_SPEAKERS = ("alipay", "sandbox", "cli")
ALIPAY_WORD = re.compile(
    r"\b(?:alipay\.[a-z]+(?:\.[a-z_]+)+"            # a method name
    r"|(?:ACQ|AQC)\.[A-Z_]+|(?:isv|isp|aop)\.[A-Za-z_-]+"  # a sub-code
    r"|WAIT_BUYER_PAY|TRADE_SUCCESS|TRADE_FINISHED|TRADE_CLOSED|REFUND_SUCCESS"  # statuses
    r"|BIZ_CARD|EXTERNAL_CARD|D_QR_CODE|D_BAR_CODE)\b")  # card.query's target types
ALIPAY_CODE = re.compile(r"^(?:10000|10003|20000|20001|40001|40002|40004|40006)$")  # a whole string: a code
RAW_ANSWER_READERS = ("from_body", "from_card_info")


def _docstring_nodes(tree: ast.AST) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


def _alipay_spoken(source: str, name: str) -> list[str]:
    """Where ``source`` speaks Alipay's protocol: string literals (docstrings and comments may explain it),
    a raw answer body read (``x.body.get(...)``, ``x.body[...]``) or a body parser of the old ports."""
    tree = ast.parse(source, name)
    docs = _docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if ALIPAY_WORD.search(node.value) or ALIPAY_CODE.match(node.value):
                found.append(f"{name}:{node.lineno}: {node.value[:60]!r}")
        elif isinstance(node, ast.Attribute) and node.attr in RAW_ANSWER_READERS:
            found.append(f"{name}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Subscript | ast.Call):
            target = node.value if isinstance(node, ast.Subscript) else node.func
            if isinstance(node, ast.Call) and isinstance(target, ast.Attribute) and target.attr == "get":
                target = target.value
            elif isinstance(node, ast.Call):
                continue
            if isinstance(target, ast.Attribute) and target.attr == "body":
                found.append(f"{name}:{node.lineno}: reads a raw answer body")
    return found


def test_alipay_is_spoken_only_in_pos_app_alipay() -> None:
    packages = [p for p in sorted((ROOT / "pos_app").iterdir())
                if p.is_dir() and (p / "__init__.py").exists() and p.name not in ALIPAY_SPEAKERS]
    assert {"services", "storage", "domain", "ui", "store"} <= {p.name for p in packages}
    found = [hit for pkg in packages for path in sorted(pkg.rglob("*.py"))
             for hit in _alipay_spoken(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert not found, "Alipay protocol outside pos_app/alipay (classify or parse it there):\n" + "\n".join(found)


def test_the_alipay_rule_knows_every_word_pos_app_alipay_defines() -> None:
    """The rule cannot fall behind: every sub-code, method, status and card type the adapter knows is caught."""
    from pos_app.alipay import answers, binding, card_requests, client, subcodes

    words = [*subcodes.PAYMENT_REFUSALS, *subcodes.TRANSIENT_SUB_CODES, *subcodes.CONFIG_SUB_CODES,
             *subcodes.RATE_LIMIT_SUB_CODES, *subcodes.SYSTEM_ERROR_SUB_CODES, *subcodes.NO_SUCH_TRADE_SUB_CODES,
             *subcodes.ALREADY_PAID_SUB_CODES, *binding.ALLOWED_FIELDS, *answers.PARSERS, *answers.TRADE_STATUS,
             *card_requests.KIND_METHOD.values(), *client.CARD_NO_TYPE.values()]
    missed = [w for w in words if not _alipay_spoken(f"x = {w!r}\n", "w")]
    assert not missed, f"words of pos_app/alipay the rule does not catch: {missed}"
    codes = [*subcodes.CONFIG_CODES, subcodes.UNAVAILABLE_CODE, "10000", "10003", "40004"]
    assert all(_alipay_spoken(f"if res.code == {c!r}: pass\n", "c") for c in codes)


def test_the_alipay_rule_catches_a_violation() -> None:
    planted = '''
"""Docstrings may name alipay.trade.pay and ACQ.SYSTEM_ERROR."""
def f(res):
    """So may this one: TRADE_CLOSED."""
    if res.sub_code == "ACQ.TRADE_NOT_EXIST":
        return res.body.get("retry_flag")
    action = res.body["action"]
    return PayResult.from_body(res.body), f"sent {'alipay.marketing.card.update'}", res.code == "20000", action
'''
    hits = _alipay_spoken(planted, "planted.py")
    assert len(hits) == 6, hits      # sub-code, .body.get, .body[...], from_body, method in an f-string, code
    assert not _alipay_spoken('kind = "card.update"\nlevel = "VIP1"\ntotal = "100.00"\nx = record.body\n', "ok.py")
