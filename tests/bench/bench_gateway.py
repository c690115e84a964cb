"""Benchmark of the gateway client: sign/verify cost, verified round trips/s, pay latency against the sandbox.

Run: ``.venv/bin/python -m tests.bench.bench_gateway [--calls N] [--in-process]`` (prints a Markdown table).
By default the sandbox runs as a separate process (``python -m pos_app.cli.gateway sandbox``), as in demo mode.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pos_app.alipay import AlipayClient, load_gateway_config
from pos_app.alipay.keys import generate_private_key
from pos_app.alipay.signing import sign_content, verify_content
from pos_app.services.ports.gateway import GatewaySuccess

ROOT = Path(__file__).resolve().parents[2]
SIGN_STRING = (
    'app_id=2021000000000001&biz_content={"auth_code":"286648048691290423","out_trade_no":"POS20240101000001",'
    '"scene":"bar_code","store_id":"S001","subject":"测试商品","terminal_id":"T01","total_amount":"88.88"}'
    "&charset=utf-8&format=json&method=alipay.trade.pay&sign_type=RSA2&timestamp=2024-01-01 12:00:00&version=1.0"
)


class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))]


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _start_sandbox(data_dir: Path, in_process: bool) -> tuple[dict[str, Any], Callable[[], None]]:
    if in_process:
        from pos_app.sandbox import SandboxServer

        server = SandboxServer(data_dir).start()
        server.configure(timestamp_window_s=None)
        return server.info(), server.stop
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "pos_app.cli.gateway", "sandbox", "--data-dir", str(data_dir)],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())

    def stop() -> None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()

    return info, stop


def _client(info: dict[str, Any]) -> AlipayClient:
    cfg = load_gateway_config(info["gateway_url"], info["app_id"], info["app_private_key"], info["alipay_public_key"])
    return AlipayClient(cfg, clock=_Clock())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=400, help="round trips per throughput figure")
    ap.add_argument("--in-process", action="store_true", help="run the sandbox in this process (shares the GIL)")
    args = ap.parse_args(argv)
    rows: list[tuple[str, str, float, float, str]] = []

    key = generate_private_key()
    pub = key.public_key()
    sig = sign_content(SIGN_STRING, key)
    s = _timed(lambda: sign_content(SIGN_STRING, key), 300)
    v = _timed(lambda: verify_content(SIGN_STRING, sig, pub), 300)
    sv = [a + b for a, b in zip(s, v, strict=True)]
    rows.append(("sign RSA2 (cryptography)", "-", statistics.median(s), _pct(s, 0.95), "ms"))
    rows.append(("verify RSA2 (cryptography)", "-", statistics.median(v), _pct(v, 0.95), "ms"))
    rows.append(("sign + verify per call (cryptography)", "~1 ms", statistics.median(sv), _pct(sv, 0.95), "ms"))
    try:
        import rsa as pyrsa
        from cryptography.hazmat.primitives import serialization

        pk = pyrsa.PrivateKey.load_pkcs1(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                                           serialization.NoEncryption()))
        ppub = pyrsa.PublicKey.load_pkcs1_openssl_pem(pub.public_bytes(serialization.Encoding.PEM,
                                                                       serialization.PublicFormat.SubjectPublicKeyInfo))
        data = SIGN_STRING.encode()
        raw = pyrsa.sign(data, pk, "SHA-256")
        ps = _timed(lambda: pyrsa.sign(data, pk, "SHA-256"), 30)
        pv = _timed(lambda: pyrsa.verify(data, raw, ppub), 30)
        psv = [a + b for a, b in zip(ps, pv, strict=True)]
        rows.append(("anchor: sign + verify per call, official SDK's pure-Python `rsa`", "-", statistics.median(psv),
                     _pct(psv, 0.95), "ms"))
    except ImportError as exc:  # the anchor is part of the figure: no silent "n/a"
        raise SystemExit("bench_gateway: the official SDK's signing anchor needs `rsa`: "
                         "pip install -e '.[bench]' (make bench does)") from exc

    with tempfile.TemporaryDirectory() as tmp:
        info, stop = _start_sandbox(Path(tmp), args.in_process)
        try:
            client = _client(info)
            warm = [client.pay(f"WARM{i}", "286648048691290423", 100, "w", store_id=None, terminal_id=None,
                               operator_id=None) for i in range(20)]
            assert all(isinstance(r, GatewaySuccess) for r in warm), warm[-1]
            counter = iter(range(10**9))
            lat = _timed(lambda: client.pay(f"P{next(counter)}", "286648048691290423", 8888, "测试商品",
                                            store_id="S001", terminal_id="T01", operator_id="op"), args.calls)
            rows.append(("pay round trip, instant success (1 connection)", "p95 ≤ 20 ms", statistics.median(lat),
                         _pct(lat, 0.95), "ms"))
            t0 = time.perf_counter()
            for _ in range(args.calls):
                r = client.query("WARM0")
                assert isinstance(r, GatewaySuccess)
            single = args.calls / (time.perf_counter() - t0)
            rows.append(("verified round trips/s, 1 keep-alive connection", "-", single, single, "rt/s"))
            client.close()

            per_thread = max(1, args.calls // 8)
            clients = [_client(info) for _ in range(8)]
            lat8: list[list[float]] = [[] for _ in range(8)]
            errors: list[Any] = []
            barrier = threading.Barrier(9)

            def work(i: int) -> None:
                c = clients[i]
                barrier.wait()
                for _ in range(per_thread):
                    t = time.perf_counter()
                    r = c.query("WARM0")
                    lat8[i].append((time.perf_counter() - t) * 1000)
                    if not isinstance(r, GatewaySuccess):
                        errors.append(r)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
            for th in threads:
                th.start()
            barrier.wait()
            t0 = time.perf_counter()
            for th in threads:
                th.join()
            rate8 = 8 * per_thread / (time.perf_counter() - t0)
            flat = [x for xs in lat8 for x in xs]
            for c in clients:
                c.close()
            rows.append(("verified round trips/s, 8 concurrent clients", "≥ 150 rt/s", rate8, rate8, "rt/s"))
            rows.append(("latency per call with 8 concurrent clients", "-", statistics.median(flat), _pct(flat, 0.95),
                         "ms"))
            if errors:
                print(f"errors during the 8-client run: {len(errors)} (first: {errors[0]})", file=sys.stderr)
        finally:
            stop()

    mode = "in-process sandbox" if args.in_process else "sandbox in its own process"
    print(f"### Gateway client benchmark ({mode}, {os.cpu_count()} CPUs, {args.calls} calls per figure)\n")
    print("data: one RSA-2048 key, the 260-byte alipay.trade.pay sign string (300 runs; pure-Python rsa 30 runs);"
          " sandbox gateway with its demo state\n")
    print("| figure | target | median | p95 |")
    print("|---|---|---|---|")
    for name, target, med, p95, unit in rows:
        if unit == "rt/s":
            print(f"| {name} | {target} | {med:.0f} {unit} | - |")
        else:
            print(f"| {name} | {target} | {med:.2f} {unit} | {p95:.2f} {unit} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
