"""A man-in-the-middle on the gateway path, as a real HTTP server on loopback.

It forwards to the sandbox and keeps the last genuine answer of every method (keyed ``method`` for a
10000 answer, ``method#<code>`` otherwise). When told to forge method B from source A, it answers B
with A's recorded body whose ``*_response`` key is renamed to B's: the signed content is untouched,
so the signature still verifies with the Alipay public key (Alipay signs the content, not the name).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from pos_app.alipay.envelope import response_node

__all__ = ["ForgingProxy", "rename"]


def rename(raw: bytes, source_method: str, target_method: str) -> bytes:
    """A recorded answer of ``source_method`` presented as the answer of ``target_method``."""
    src = f'"{response_node(source_method)}"'.encode()
    dst = f'"{response_node(target_method)}"'.encode()
    assert src in raw, f"no {src!r} in the recorded answer"
    return raw.replace(src, dst, 1)


class ForgingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.recorded: dict[str, bytes] = {}
        self.forge: dict[str, tuple[str, bool]] = {}   # target method -> (source key, forward the request first)
        self.forged = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                query = urllib.parse.urlsplit(self.path).query
                method = dict(urllib.parse.parse_qsl(query)).get("method", "")
                with proxy.lock:
                    plan = proxy.forge.get(method)
                if plan is None or plan[1]:
                    r = httpx.post(f"{proxy.upstream}?{query}", content=body,
                                   headers={"Content-Type": self.headers.get("Content-Type", "")}, timeout=5)
                    answer = r.content
                    if plan is None:
                        proxy._record(method, answer)
                if plan is not None:
                    source = plan[0]
                    with proxy.lock:
                        answer = rename(proxy.recorded[source], source.split("#")[0], method)
                        proxy.forged += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _record(self, method: str, answer: bytes) -> None:
        try:
            node = json.loads(answer)[response_node(method)]
        except (ValueError, KeyError, TypeError):
            return
        code = str(node.get("code", ""))
        key = method if code == "10000" else f"{method}#{code}"
        with self.lock:
            self.recorded[key] = answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/gateway.do"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
