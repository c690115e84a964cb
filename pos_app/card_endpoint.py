"""The card-opening endpoint (``pos-app card endpoint``): a WSGI app served by waitress, meant to sit
behind the shop's HTTPS reverse proxy.

- ``POST /spi``: express mode, Alipay's signed ``spi.alipay.user.opencard.get``; answered signed at once.
- ``GET /card/open`` (``card.callback_path``): historical mode, the customer's browser returning with an
  auth code; the code is exchanged at Alipay (signed, verified calls), the card opened, a page shown.
Every request opens its own SQLite connection (waitress threads); a member is created once per request id.
In store mode (``[store] dsn`` set) the new member also goes to the store's PostgreSQL member master (through the
store's member import, with the administrator connection ``$POS_STORE_ADMIN_DSN``) before Alipay is answered, so
every lane has it at its next pull; when the store cannot be reached Alipay is answered ``20000`` (it retries, and
the retry finds the same local card and writes it to the store then: nothing is lost, nothing counted twice).
"""

from __future__ import annotations

import html
import json
import logging
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from pos_app.alipay.client import AlipayClient, GatewayConfig
from pos_app.alipay.opening import AlipayOpeningGateway, SpiRejected, spi_answer, verify_spi_request
from pos_app.domain.card_template import OpenedCard, OpeningError
from pos_app.domain.member_rows import MemberRow
from pos_app.runtime import SystemClock
from pos_app.services.card_opening import CardOpening, OpeningConfig
from pos_app.services.ports.clock import Clock
from pos_app.settings import Settings
from pos_app.storage.card_openings import SqliteOpeningStore
from pos_app.storage.db import connect, migrate
from pos_app.store.admin import import_members
from pos_app.store.connect import lane_conninfo, open_connection, still_open
from pos_app.store.errors import StoreError

__all__ = ["OpeningApp", "build_app", "serve", "stop"]

logger = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
MAX_BODY = 64 * 1024
STORE_TIMEOUT_MS = 1500     # the store write (1 s to connect, 1.5 s per statement) leaves time to answer Alipay


class StoreUnreachable(Exception):
    """The member could not be written to the store's member master: Alipay is asked to retry."""


class OpeningApp:
    """The WSGI application."""

    def __init__(self, settings: Settings, gateway: GatewayConfig, clock: Clock | None = None, *,
                 replay_window_s: float = 300.0, store_dsn: str = "") -> None:
        self._settings = settings
        self._gateway = gateway
        self._clock = clock or SystemClock()
        self._window = replay_window_s
        self._local = threading.local()
        self._store_dsn = store_dsn if settings.store.dsn else ""
        self._pg: list[psycopg.Connection[Any]] = []   # every thread's store connection, closed by close()
        self._pg_lock = threading.Lock()
        if settings.store.dsn and not store_dsn:
            raise SystemExit("card endpoint: this lane is in store mode: new members go to the store server; give "
                             "its administrator connection in $POS_STORE_ADMIN_DSN")
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

    def _to_store(self, card: OpenedCard, *, biz_card_no: str = "") -> None:
        """The member into the store's master (idempotent: a replay changes nothing, its opening points are
        entered once); raises StoreUnreachable."""
        if not self._store_dsn:
            return
        self._store()   # this thread's lane connection
        local = self._local.conn.execute("SELECT phone, name FROM members WHERE card_no = ?", (card.card_no,)).fetchone()
        phone, name = (str(local[0] or ""), str(local[1] or "")) if local else ("", "")
        row = MemberRow(card_no=card.card_no, phone=phone, name=name or "会员", level=card.level,
                        opening_points=card.points, biz_card_no=biz_card_no)
        conn = getattr(self._local, "pg", None)
        try:
            if not still_open(conn):   # e.g. the store's server restarted since the last card
                if conn is not None:
                    conn.close()
                info = lane_conninfo(self._store_dsn, None, connect_timeout_s=1, application_name="pos-card-endpoint")
                conn = self._local.pg = open_connection(info, statement_timeout_ms=STORE_TIMEOUT_MS)
                with self._pg_lock:
                    self._pg.append(conn)
            import_members(conn, [row])
        except (StoreError, psycopg.Error) as exc:
            if conn is not None:
                conn.close()
            self._local.pg = None
            logger.warning("card endpoint: member ****%s not written to the store (%s); Alipay will retry",
                           card.card_no[-4:], exc)
            raise StoreUnreachable(str(exc)) from exc

    def close(self) -> None:
        """Close the store connections (the server has stopped)."""
        with self._pg_lock:
            conns, self._pg = self._pg, []
        for conn in conns:
            conn.close()

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
            self._to_store(card)
        except StoreUnreachable as exc:
            reply: dict[str, Any] = {"code": "20000", "msg": "Service Currently Unavailable",
                                     "sub_code": "isp.unknow-error",
                                     "sub_msg": f"the store's member master is unreachable, retry: {exc}"[:200]}
            return self._reply(start_response, "200 OK", spi_answer(reply, key, self._gateway.sign_type),
                               "application/json;charset=utf-8")
        except SpiRejected as exc:
            logger.warning("card endpoint: SPI request refused: %s", exc)
            reply = {"code": "40004", "msg": "Business Failed", "sub_code": exc.sub_code, "sub_msg": str(exc)}
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
            card, biz_card_no = self._opening.callback(AlipayOpeningGateway(client), auth_code=q.get("auth_code", ""),
                                                       request_id=q.get("request_id", ""),
                                                       template_id=q.get("template_id", ""))
            # a customer who tries again is found by their user id and written to the store then
            self._to_store(card, biz_card_no=biz_card_no)
        except StoreUnreachable:
            return self._page(start_response, "503 Service Unavailable", "开卡未完成", "请稍后在支付宝重新领取会员卡。")
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
    store_dsn = os.environ.get("POS_STORE_ADMIN_DSN", "") if settings.store.dsn else ""
    return OpeningApp(settings, cfg, clock, store_dsn=store_dsn)


def serve(app: OpeningApp, host: str, port: int, *, threads: int = 8) -> Any:
    """A waitress server for ``app`` (not started: call ``run()``; ``close()`` stops it)."""
    import waitress.server

    server = waitress.server.create_server(app, host=host, port=port, threads=threads, ident="pos-app",
                                           clear_untrusted_proxy_headers=True,
                                           # poll(), not select(): select() fails on a descriptor above 1023
                                           asyncore_use_poll=True)
    server.pos_opening_app = app    # closed by stop() (server.application is waitress's proxy-header wrapper)
    return server


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
    app = getattr(server, "pos_opening_app", None)
    if isinstance(app, OpeningApp):
        app.close()
