"""Benchmark: the card-opening endpoint (express mode) at 50 requests/s: signed SPI in, member created, signed answer.

Each request is a new customer (new request id): verify Alipay's RSA2 signature, create the member in the
lane's SQLite file (synchronous=FULL), sign the answer. Target (issue 15): ≤ 50 ms p95 at 50 req/s.
Run: ``.venv/bin/python tests/bench/run_all.py card_endpoint``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from pos_app.alipay.keys import load_private_key_file  # noqa: E402
from pos_app.alipay.signing import sign_content, sign_string  # noqa: E402
from pos_app.card_endpoint import OpeningApp, serve  # noqa: E402
from pos_app.gateway_setup import gateway_config  # noqa: E402
from pos_app.sandbox import SandboxServer  # noqa: E402
from pos_app.services.ports.clock import BEIJING
from pos_app.settings import load_settings  # noqa: E402

RATE = 50
SECONDS = 10
TEMPLATE = "20250000000000000001"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sb = SandboxServer(Path(tmp) / "sandbox")  # only for its key files; not started
        sb.state.close()
        cfg_path = Path(tmp) / "pos.toml"
        cfg_path.write_text(f'data_dir = "{Path(tmp) / "data"}"\n[gateway]\nurl = "http://127.0.0.1:9/gateway.do"\n'
                            f'app_id = "{sb.app_id}"\napp_private_key = "{sb.app_private_key_path}"\n'
                            f'alipay_public_key = "{sb.alipay_public_key_path}"\n'
                            f'[card]\ntemplate_id = "{TEMPLATE}"\nopening_points = 50\n', encoding="utf-8")
        settings = load_settings(cfg_path, env={})
        cfg = gateway_config(settings, env={})
        assert cfg is not None
        app = OpeningApp(settings, cfg)
        inside: list[float] = []
        cpu: list[float] = []

        def timed(environ: dict[str, object], start_response: object) -> object:
            t, c = time.perf_counter(), time.thread_time()
            out = app(environ, start_response)  # type: ignore[arg-type]
            inside.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
            return out

        server = serve(timed, "127.0.0.1", 0, threads=4)  # type: ignore[arg-type]
        url = f"http://127.0.0.1:{server.effective_port}/spi"
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        key = load_private_key_file(sb.gateway_private_key_path, validate=False)

        def body(i: int) -> dict[str, str]:
            from datetime import datetime

            biz = {"template_id": TEMPLATE, "request_id": f"BENCH{i:06d}", "user_id": f"2088{i:012d}",
                   "form_info": {"OPEN_FORM_FIELD_MOBILE": f"139{i:08d}"}}
            p = {"app_id": sb.app_id, "method": "spi.alipay.user.opencard.get", "charset": "utf-8",
                 "sign_type": "RSA2", "version": "1.0",
                 "timestamp": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"), "biz_content": json.dumps(biz)}
            p["sign"] = sign_content(sign_string(p), key, "RSA2")
            return p

        n = RATE * SECONDS
        bodies = [body(i) for i in range(n + 20)]
        latencies: list[float] = []
        failures = 0
        lock = threading.Lock()
        with httpx.Client(trust_env=False, timeout=5, limits=httpx.Limits(max_connections=16)) as http:
            for i in range(20):  # warm-up
                http.post(url, data=bodies[n + i])
            inside.clear()
            cpu.clear()

            def one(i: int) -> None:
                nonlocal failures
                t = time.perf_counter()
                text = http.post(url, data=bodies[i]).text
                dt_ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(dt_ms)
                    if '"code":"10000"' not in text:
                        failures += 1

            start = time.perf_counter()
            threads = []
            for i in range(n):  # an open-loop schedule: one request every 20 ms whatever the answers do
                delay = start + i / RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                th = threading.Thread(target=one, args=(i,))
                th.start()
                threads.append(th)
            for th in threads:
                th.join()
            elapsed = time.perf_counter() - start
        server.close()
        thread.join(5)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"({n} new customers in {elapsed:.1f} s = {n / elapsed:.0f} req/s offered at {RATE}/s; {failures} failed; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print()
    print("| figure | target | median | p95 |")
    print("|---|---|---|---|")
    print(f"| express opening (verify, create member, signed answer) at {RATE} req/s | ≤ 50 ms p95 | "
          f"{statistics.median(latencies):.1f} ms | {p95:.1f} ms |")
    inside.sort()
    cpu.sort()
    print(f"| the same, time inside the app (verify, SQLite commit with fsync, sign) | - | "
          f"{statistics.median(inside):.1f} ms | {inside[int(len(inside) * 0.95) - 1]:.1f} ms |")
    print(f"| the same, CPU time of the handling thread (load-independent) | - | {statistics.median(cpu):.1f} ms | "
          f"{cpu[int(len(cpu) * 0.95) - 1]:.1f} ms |")


if __name__ == "__main__":
    main()
