"""SandboxServer: the local Alipay gateway over real HTTP (stdlib ThreadingHTTPServer) plus its admin API."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import re
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from pos_app.alipay.keys import (
    generate_private_key,
    load_private_key_file,
    load_public_key_file,
    write_private_key,
    write_public_key,
)

from .admin import handle_admin
from .faults import FaultBook
from .gateway import App, GatewayCore
from .notify import Notifier
from .state import MEMBER_CODE_TTL_S, SandboxState

__all__ = ["DEFAULT_APP_ID", "SandboxServer", "decode_gateway_params", "default_members_path"]

logger = logging.getLogger(__name__)

DEFAULT_APP_ID = "9021000100000001"


def default_members_path() -> Path:
    """``resources/demo/members.json`` of the source tree."""
    return Path(__file__).resolve().parents[1] / "resources" / "demo" / "members.json"


def decode_gateway_params(query: str, body: bytes) -> dict[str, str]:
    """The gateway request's params: the query string merged with the form body, decoded in the request's charset."""
    raw_query = urllib.parse.parse_qs(query, keep_blank_values=True, encoding="latin-1")
    charset = (raw_query.get("charset") or ["utf-8"])[0].lower()
    if charset not in ("utf-8", "gbk", "gb2312"):
        charset = "utf-8"
    params: dict[str, str] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True, encoding=charset))
    if body:
        form = urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding=charset)
        params.update(form)
    return params


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # headers and body leave in one segment (flushed after each request)
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # the request line's query string carries signatures (and auth codes for GET clients): drop it
        logger.debug("sandbox http: %s %s", self.command, urllib.parse.urlsplit(self.path).path)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _dispatch(self, verb: str) -> None:
        sandbox = self.server.sandbox
        split = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if split.path == "/gateway.do" and verb in ("GET", "POST"):
            self._gateway(verb, split.query, body)
            return
        if split.path == "/admin" or split.path.startswith("/admin/"):
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {sandbox.admin_token}".encode()):
                self._send(401, b'{"error":"the admin API needs Authorization: Bearer <token from admin_token_file>"}',
                           "application/json")
                return
            try:
                payload = json.loads(body.decode("utf-8")) if body.strip() else {}
            except ValueError:
                self._send(400, b'{"error":"body must be JSON"}', "application/json")
                return
            if not isinstance(payload, dict):
                payload = {}
            query = dict(urllib.parse.parse_qsl(split.query))
            status, out = handle_admin(sandbox, verb, split.path[len("/admin"):].rstrip("/"), query, payload)
            text = _mask_payment_codes(json.dumps(out, ensure_ascii=False, default=str))
            self._send(status, text.encode("utf-8"), "application/json;charset=utf-8")
            return
        self._send(404, b"not found", "text/plain")

    def _gateway(self, verb: str, query: str, body: bytes) -> None:
        sandbox = self.server.sandbox
        reply = sandbox.core.handle(decode_gateway_params(query, body), verb)
        sandbox.dispatch_notifications()
        if reply.drop:
            self.close_connection = True
            return
        if reply.delay_s > 0 and sandbox.stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        try:
            self._send(reply.status, reply.body, reply.content_type)
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that resets or drops its connection is normal (timeouts, killed terminals): one debug line,
        no traceback on stderr. Anything else is logged with its traceback through logging (redacted)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            logger.debug("sandbox http: client %s went away (%s)", client_address[0], type(exc).__name__)
            self.sandbox.client_resets.release()
            return
        logger.exception("sandbox http: error while serving %s", client_address[0])


_PAYMENT_CODE = re.compile(r"(?<![0-9])((?:2[5-9]|30)[0-9]{10,18})([0-9]{4})(?![0-9])")


def _mask_payment_codes(text: str) -> str:
    """Payment codes in admin answers (the request log carries biz_content) keep only their last 4 digits."""
    return _PAYMENT_CODE.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)


class SandboxServer:
    """A local Alipay gateway with its own RSA2 key pair, one registered app, and persistent state.

    Key files are written to ``data_dir/keys`` on first use and reused afterwards, so a restart
    keeps both the keys and the state (``data_dir/state.sqlite3``).
    """

    def __init__(self, data_dir: Path | str, host: str = "127.0.0.1", port: int = 0, seed_demo: bool = False, *,
                 app_id: str = DEFAULT_APP_ID, members_path: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.app_id = app_id
        self.stopping = threading.Event()
        self._members_path = members_path or default_members_path()
        keys = self.data_dir / "keys"
        self.gateway_private_key_path = keys / "gateway_private_key.pem"
        self.alipay_public_key_path = keys / "alipay_public_key.pem"
        self.app_private_key_path = keys / "app_private_key.pem"
        self.app_public_key_path = keys / "app_public_key.pem"
        self.admin_token_file = keys / "admin_token"
        self.client_resets = threading.Semaphore(0)   # released once per client connection reset (tests wait on it)
        self._gateway_key = self._ensure_pair(self.gateway_private_key_path, self.alipay_public_key_path)
        self.admin_token = self._ensure_token(self.admin_token_file)
        self._ensure_pair(self.app_private_key_path, self.app_public_key_path)
        self._wrong: rsa.RSAPrivateKey | None = None
        self.state = SandboxState(self.data_dir)
        self._faults = FaultBook()
        self.core = GatewayCore(self.state, self._faults, self._gateway_key, self._wrong_key,
                                {app_id: App(app_id, load_public_key_file(self.app_public_key_path))})
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._notifier: Notifier | None = None
        self._closed = False
        if seed_demo:
            self.seed_demo()

    @staticmethod
    def _ensure_pair(private_path: Path, public_path: Path) -> rsa.RSAPrivateKey:
        if private_path.exists():
            key = load_private_key_file(private_path, validate=False)  # written by the sandbox itself
        else:
            key = generate_private_key()
            write_private_key(private_path, key, pkcs8=False)
        if not public_path.exists():
            write_public_key(public_path, key.public_key())
        return key

    @staticmethod
    def _ensure_token(path: Path) -> str:
        """The admin API's bearer token: random, in a 0600 file beside the sandbox keys (kept across restarts)."""
        try:
            token = path.read_text(encoding="ascii").strip()
            if token:
                return token
        except FileNotFoundError:
            pass
        token = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, token.encode("ascii"))
        finally:
            os.close(fd)
        return token

    def _wrong_key(self) -> rsa.RSAPrivateKey:
        if self._wrong is None:
            self._wrong = generate_private_key()
        return self._wrong

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind and serve on a background thread; returns self."""
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.sandbox = self
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self.stopping.clear()
        self._notifier = Notifier(self._gateway_key)
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        logger.info("sandbox gateway listening on %s", self.gateway_url)
        return self

    def stop(self) -> None:
        """Stop serving, wake slow answers, and close the state file."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._notifier is not None:
            self._notifier.stop()
        if not self._closed:
            self._closed = True
            self.state.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gateway_url(self) -> str:
        return self.base_url + "/gateway.do"

    @property
    def admin_url(self) -> str:
        return self.base_url + "/admin"

    def info(self) -> dict[str, Any]:
        """The JSON line printed by ``pos-app sandbox``."""
        return {
            "gateway_url": self.gateway_url,
            "admin_url": self.admin_url,
            "app_id": self.app_id,
            "app_private_key": str(self.app_private_key_path),
            "app_public_key": str(self.app_public_key_path),
            "alipay_public_key": str(self.alipay_public_key_path),
            "admin_token_file": str(self.admin_token_file),
        }

    # --- in-process accessors (mirror the admin API) ---------------------------------------

    def script_auth_code(self, auth_code: str, behaviour: str, *, queries: int = 1, after_s: float | None = None,
                         buyer_user_id: str | None = None, sub_code: str | None = None,
                         sub_msg: str | None = None) -> dict[str, Any]:
        return self.state.script_auth_code(auth_code, behaviour, queries=queries, after_s=after_s,
                                           buyer_user_id=buyer_user_id, sub_code=sub_code, sub_msg=sub_msg)

    def inject_fault(self, kind: str, method: str = "*", *, count: int | None = 1, probability: float = 1.0,
                     seed: int | None = None, delay_s: float = 2.0, apply: bool | None = None) -> dict[str, Any]:
        return self._faults.add(kind, method, count=count, probability=probability, seed=seed, delay_s=delay_s,
                                apply=apply).to_json()

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self._faults.list()

    def fault_counts(self) -> dict[str, int]:
        """How often each fault kind fired since start (cleared and used-up faults included)."""
        return self._faults.fired_counts()

    def now(self) -> dt.datetime:
        return self.state.now()

    def set_clock(self, when: dt.datetime | None = None, *, advance_s: float | None = None) -> dt.datetime:
        return self.state.set_clock(when, advance_s=advance_s)

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self.state.configure(**changes)

    def mint_member_code(self, biz_card_no: str, ttl_s: float = MEMBER_CODE_TTL_S) -> dict[str, Any]:
        return self.state.mint_member_code(biz_card_no, ttl_s)

    def issue_card(self, *, external_card_no: str, name: str = "", phone: str = "", level: str = "",
                   points: int | str = 0, balance: str = "0.00") -> dict[str, Any]:
        return self.state.issue_card(external_card_no=external_card_no, name=name, phone=phone, level=level,
                                     points=points, balance=balance)

    def seed_demo(self) -> int:
        return self.state.seed_demo(self._members_path)

    def trades(self) -> list[dict[str, Any]]:
        return self.state.trade_list()

    def trade(self, out_trade_no: str) -> dict[str, Any] | None:
        return next((t for t in self.trades() if t["out_trade_no"] == out_trade_no), None)

    def cards(self) -> list[dict[str, Any]]:
        return self.state.card_list()

    def card(self, card_no: str) -> dict[str, Any] | None:
        return next((c for c in self.cards() if card_no in (c["biz_card_no"], c["external_card_no"])), None)

    def request_log(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.core.request_log)

    def dispatch_notifications(self) -> None:
        """Hand trade status changes made by the last request to the notifier."""
        for trade in self.state.take_notifications():
            if self._notifier is not None:
                self._notifier.submit(trade, app_id=self.app_id, now_text=self.state.now_text())

    def notification_log(self) -> list[dict[str, Any]]:
        """Every delivery attempt: notify_id, url, attempt, status, answer, delivered, params."""
        return list(self._notifier.log) if self._notifier is not None else []

    def redeliver_notification(self, notify_id: str) -> bool:
        """Send a notification once more (duplicate delivery)."""
        return self._notifier.redeliver(notify_id) if self._notifier is not None else False

    def reset(self, *, seed_demo: bool = False) -> None:
        self._faults.clear()
        with self.state.lock:
            self.state.reset()
            self.core.request_log.clear()
        if seed_demo:
            self.seed_demo()
