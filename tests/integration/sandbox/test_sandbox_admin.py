"""The admin HTTP API and the ``sandbox`` / ``gateway call`` / ``keygen`` command lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from pos_app.services.ports.gateway import GatewayInProgress, GatewaySuccess, GatewayUnknown

ROOT = Path(__file__).resolve().parents[3]


def _admin(sandbox, verb, path, body=None):
    r = httpx.request(verb, sandbox.admin_url + path, json=body, trust_env=False,
                      headers={"Authorization": f"Bearer {sandbox.admin_token}"})
    return r.status_code, r.json()


def test_admin_endpoints(client, sandbox) -> None:
    assert _admin(sandbox, "GET", "")[1]["app_id"] == sandbox.app_id
    assert _admin(sandbox, "POST", "/auth-codes", {"auth_code": "281234567890123456", "behaviour": "wait_forever"})[0] == 200
    assert _admin(sandbox, "POST", "/auth-codes", {"auth_code": "2812", "behaviour": "nope"})[0] == 400
    assert isinstance(client.pay("A1", "281234567890123456", 100, "x", store_id=None, terminal_id=None,
                                 operator_id=None), GatewayInProgress)
    status, trades = _admin(sandbox, "GET", "/trades")
    assert status == 200 and [t["out_trade_no"] for t in trades] == ["A1"]
    assert _admin(sandbox, "GET", "/trades/A1")[1]["status"] == "WAIT_BUYER_PAY"
    assert _admin(sandbox, "GET", "/trades/NOPE")[0] == 404
    status, card = _admin(sandbox, "POST", "/cards", {"card_no": "M7", "name": "赵六", "level": "VIP1", "points": 5})
    assert status == 200 and card["external_card_no"] == "M7"
    assert _admin(sandbox, "GET", "/cards/M7")[1]["biz_card_no"] == card["biz_card_no"]
    assert len(_admin(sandbox, "GET", "/cards")[1]) == 1
    minted = _admin(sandbox, "POST", "/cards/M7/member-code", {"ttl_s": 30})[1]
    assert minted["code"].startswith("DM")
    assert isinstance(client.card_query(minted["code"], "D_QR_CODE"), GatewaySuccess)
    assert _admin(sandbox, "POST", "/faults", {"kind": "http500", "method": "alipay.trade.query", "count": 1})[0] == 200
    assert _admin(sandbox, "GET", "/faults")[1][0]["kind"] == "http500"
    assert _admin(sandbox, "POST", "/faults", {"kind": "bogus"})[0] == 400
    assert isinstance(client.query("A1"), GatewayUnknown)
    _admin(sandbox, "POST", "/faults", {"kind": "system_error", "count": None})
    assert _admin(sandbox, "DELETE", "/faults")[1] == {"faults": []}
    assert isinstance(client.query("A1"), GatewaySuccess)
    clock = _admin(sandbox, "POST", "/clock", {"advance_s": 31})[1]
    assert "now" in clock and _admin(sandbox, "GET", "/clock")[1]["timezone"] == "GMT+8"
    assert client.card_query(minted["code"], "D_QR_CODE").sub_code == "CARD_CODE_EXPIRED"
    assert _admin(sandbox, "POST", "/clock", {"now": "2030-01-01 00:00:00"})[1]["now"] == "2030-01-01 00:00:00"
    log = _admin(sandbox, "GET", "/requests?method=alipay.trade.query&limit=2")[1]
    assert len(log) == 2 and all(e["method"] == "alipay.trade.query" for e in log)
    assert log[-1]["sign_string"].startswith("app_id=")
    assert _admin(sandbox, "POST", "/config", {"timestamp_window_s": None})[1]["timestamp_window_s"] is None
    assert _admin(sandbox, "GET", "/notifications")[0] == 200
    assert _admin(sandbox, "POST", "/reset", {})[0] == 200
    assert _admin(sandbox, "GET", "/trades")[1] == [] and _admin(sandbox, "GET", "/cards")[1] == []
    assert _admin(sandbox, "GET", "/nope")[0] == 404


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_cli_sandbox_subprocess_and_gateway_call(tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pos_app", "sandbox", "--data-dir", str(tmp_path / "d"),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                            cwd=ROOT)
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        assert set(info) == {"gateway_url", "admin_url", "app_id", "partner_id", "app_private_key",
                             "app_public_key", "alipay_public_key", "admin_token_file"}
        base = [sys.executable, "-m", "pos_app", "gateway", "call", "--gateway-url", info["gateway_url"],
                "--app-id", info["app_id"], "--app-private-key", info["app_private_key"]]

        def call(method, biz, pub):
            return subprocess.run(base + [method, "--biz", json.dumps(biz), "--alipay-public-key", pub],
                                  capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=60)

        pay = {"out_trade_no": "CLI1", "auth_code": "286648048691290423", "subject": "s", "total_amount": "1.00",
               "scene": "bar_code"}
        ok = call("alipay.trade.pay", pay, info["alipay_public_key"])
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["code"] == "10000"
        fail = call("alipay.trade.query", {"out_trade_no": "NOPE"}, info["alipay_public_key"])
        assert fail.returncode == 2 and "ACQ.TRADE_NOT_EXIST" in fail.stderr
        own = call("alipay.trade.query", {"out_trade_no": "CLI1"}, info["app_public_key"])
        assert own.returncode == 4 and "own public key" in own.stderr
        cfg = tmp_path / "pos.toml"
        cfg.write_text(f'[gateway]\nurl = "{info["gateway_url"]}"\napp_id = "{info["app_id"]}"\n'
                       f'app_private_key = "{info["app_private_key"]}"\n'
                       f'alipay_public_key = "{info["alipay_public_key"]}"\n', encoding="utf-8")
        by_config = subprocess.run([sys.executable, "-m", "pos_app", "gateway", "call", "alipay.trade.query",
                                    "--config", str(cfg), "--biz", '{"out_trade_no":"CLI1"}'],
                                   capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=60)
        assert by_config.returncode == 0, by_config.stderr
        assert json.loads(by_config.stdout)["trade_status"] == "TRADE_SUCCESS"
        by_env = subprocess.run([sys.executable, "-m", "pos_app", "gateway", "call", "alipay.trade.query",
                                 "--biz", '{"out_trade_no":"CLI1"}'],  # $POS_CONFIG, like every other command
                                capture_output=True, text=True, env={**_env(), "POS_CONFIG": str(cfg)}, cwd=ROOT,
                                timeout=60)
        assert by_env.returncode == 0 and json.loads(by_env.stdout)["trade_status"] == "TRADE_SUCCESS", by_env.stderr
        token = Path(info["admin_token_file"]).read_text()
        httpx.post(info["admin_url"] + "/faults", json={"kind": "unavailable"}, trust_env=False,
                   headers={"Authorization": f"Bearer {token}"})
        unk = call("alipay.trade.query", {"out_trade_no": "CLI1"}, info["alipay_public_key"])
        assert unk.returncode == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        finally:
            proc.stdout.close()
            proc.stderr.close()
    assert proc.returncode == 0


def test_cli_keygen(tmp_path) -> None:
    env = _env()
    env["KEY_PW"] = "pw"
    r = subprocess.run([sys.executable, "-m", "pos_app", "keygen", "--out", str(tmp_path / "k"),
                        "--passphrase-env", "KEY_PW"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    body = r.stdout.strip()
    assert "\n" not in body and body.startswith("MIIB")
    from pos_app.alipay.keys import load_private_key_file, public_key_base64

    key = load_private_key_file(tmp_path / "k" / "app_private_key.pem", "pw")
    assert public_key_base64(key.public_key()) == body
    assert (tmp_path / "k" / "app_private_key.pem").stat().st_mode & 0o077 == 0
