"""The card-opening endpoint (``pos-app card endpoint``): a WSGI app served by waitress, meant to sit
behind the shop's HTTPS reverse proxy.

- ``POST /spi``: express mode, Alipay's signed ``spi.alipay.user.opencard.get``; answered signed at once.
- ``GET /card/open`` (``card.callback_path``): historical mode, the customer's browser returning with an
  auth code; the code is exchanged at Alipay (signed, verified calls), the card opened, a page shown.
Every request opens its own SQLite connection (waitress threads); a member is created once per request id.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from pos_app.alipay.client import AlipayClient, GatewayConfig
from pos_app.alipay.opening import AlipayOpeningGateway, SpiRejected, spi_answer, verify_spi_request
from pos_app.domain.card_template import OpeningError
from pos_app.runtime import SystemClock
from pos_app.services.card_opening import CardOpening, OpeningConfig
from pos_app.services.ports.clock import Clock
from pos_app.settings import Settings
from pos_app.storage.card_openings import SqliteOpeningStore
from pos_app.storage.db import connect, migrate

__all__ = ["OpeningApp", "build_app", "serve", "stop"]

logger = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
MAX_BODY = 64 * 1024


class OpeningApp:
    """The WSGI application."""

    def __init__(self, settings: Settings, gateway: GatewayConfig, clock: Clock | None = None, *,
                 replay_window_s: float = 300.0) -> None:
        self._settings = settings
        self._gateway = gateway
        self._clock = clock or SystemClock()
        self._window = replay_window_s
        self._local = threading.local()
        conn = connect(settings.db_path)
        try:
            migrate(conn)
        finally:
            conn.close()
        c = settings.card
        self._opening = CardOpening(self._store, self._clock, OpeningConfig(
            template_id=c.template_id, number_prefix=c.number_prefix, number_length=c.number_length,
            opening_points=c.opening_points, opening_level=c.opening_level))

    def _store(self) -> SqliteOpeningStore:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._settings.db_path)
            self._local.conn = conn
        return SqliteOpeningStore(conn)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        verb = environ.get("REQUEST_METHOD", "GET")
        try:
            if path == "/spi" and verb == "POST":
                return self._spi(environ, start_response)
            if path == self._settings.card.callback_path and verb == "GET":
                return self._callback(environ, start_response)
            if path == "/health":
                return self._reply(start_response, "200 OK", b"ok", "text/plain")
        except Exception:  # one bad request must not stop the endpoint: logged, answered 500
            logger.exception("card endpoint: %s %s failed", verb, path)
            return self._reply(start_response, "500 Internal Server Error", b"error", "text/plain")
        return self._reply(start_response, "404 Not Found", b"not found", "text/plain")

    @staticmethod
    def _reply(start_response: StartResponse, status: str, body: bytes, ctype: str) -> list[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    def _spi(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            return self._reply(start_response, "413 Payload Too Large", b"too large", "text/plain")
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        params = dict(urllib.parse.parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8"))
        key = self._gateway.app_private_key
        try:
            biz = verify_spi_request(params, alipay_public_key=self._gateway.alipay_public_key,
                                     app_id=self._gateway.app_id, now=self._clock.now(), window_s=self._window)
            card = self._opening.express(biz)
        except SpiRejected as exc:
            logger.warning("card endpoint: SPI request refused: %s", exc)
            reply: dict[str, Any] = {"code": "40004", "msg": "Business Failed", "sub_code": exc.sub_code,
                                     "sub_msg": str(exc)}
            return self._reply(start_response, "200 OK", spi_answer(reply, key, self._gateway.sign_type),
                               "application/json;charset=utf-8")
        except OpeningError as exc:
            logger.warning("card endpoint: opening refused: %s", exc)
            reply = {"code": "40004", "msg": "Business Failed", "sub_code": "OPEN_CARD_REFUSED", "sub_msg": str(exc)}
            return self._reply(start_response, "200 OK", spi_answer(reply, key, self._gateway.sign_type),
                               "application/json;charset=utf-8")
        reply = {"code": "10000", "msg": "Success", "request_id": str(biz.get("request_id") or ""),
                 "card_info": {"external_card_no": card.card_no, "level": card.level, "point": str(card.points),
                               "balance": "0.00", "open_date": card.open_date, "valid_date": card.valid_date}}
        return self._reply(start_response, "200 OK", spi_answer(reply, key, self._gateway.sign_type),
                           "application/json;charset=utf-8")

    def _callback(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if q.get("app_id") not in (None, self._gateway.app_id):
            return self._page(start_response, "400 Bad Request", "开卡失败", "这不是本店的开卡请求。")
        client = AlipayClient(self._gateway, clock=self._clock)
        try:
            card, _ = self._opening.callback(AlipayOpeningGateway(client), auth_code=q.get("auth_code", ""),
                                             request_id=q.get("request_id", ""),
                                             template_id=q.get("template_id", ""))
        except OpeningError as exc:
            logger.warning("card endpoint: callback refused: %s", exc)
            return self._page(start_response, "400 Bad Request", "开卡失败", "请回到支付宝重新领取会员卡。")
        finally:
            client.close()
        return self._page(start_response, "200 OK", "开卡成功",
                          f"会员卡 ****{card.card_no[-4:]} 已放入支付宝卡包。", card_no=card.card_no)

    @staticmethod
    def _page(start_response: StartResponse, status: str, title: str, text: str, card_no: str = "") -> list[bytes]:
        body = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f'<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>'
                + (f'<p hidden id="card">{json.dumps(card_no)}</p>' if card_no else "") + "</html>").encode()
        return OpeningApp._reply(start_response, status, body, "text/html;charset=utf-8")


def build_app(settings: Settings, clock: Clock | None = None) -> OpeningApp:
    from pos_app.gateway_setup import gateway_config

    cfg = gateway_config(settings)
    if cfg is None:
        raise SystemExit("card endpoint: no gateway configured (gateway.url)")
    if not settings.card.template_id:
        raise SystemExit("card endpoint: no card template (card.template_id); run `pos-app card template create`")
    return OpeningApp(settings, cfg, clock)


def serve(app: OpeningApp, host: str, port: int, *, threads: int = 8) -> Any:
    """A waitress server for ``app`` (not started: call ``run()``; ``close()`` stops it)."""
    import waitress.server

    return waitress.server.create_server(app, host=host, port=port, threads=threads, ident="pos-app",
                                         clear_untrusted_proxy_headers=True)


def stop(server: Any, thread: threading.Thread | None = None, timeout: float = 5.0) -> None:
    """Stop ``server`` (made by :func:`serve`) that ``thread`` runs: closed inside its own loop (closing its
    sockets from another thread races the loop's select), then its worker threads ended (waitress's
    ``close()`` alone leaves them running)."""
    closed = threading.Event()

    def close() -> None:
        server.close()
        closed.set()

    trigger = getattr(server, "trigger", None)
    if trigger is not None and thread is not None and thread.is_alive():
        trigger.pull_trigger(close)   # run by the loop thread, which then finds nothing left to serve
        thread.join(timeout)
    if not closed.is_set():           # never served, or the loop did not answer in time
        close()
    server.task_dispatcher.shutdown(timeout=timeout)
