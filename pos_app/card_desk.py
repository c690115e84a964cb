"""Composition for the supervisor's card desk (the terminal's "Member card & join QR" action).

One call, :meth:`CardDesk.prepare`, does what ``pos-app card template create`` + ``card form set`` +
``card join-qr`` do on the command line: the template from the shop's spec when there is none yet, the
activation URL behind the join QR, both written into the settings file when there is one. The poster is
drawn by the window (Qt); this module only talks to Alipay. In the demo it also serves the card-opening
endpoint in-process (a real shop runs ``pos-app card endpoint`` behind its HTTPS proxy).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pos_app.card_setup import (
    load_spec,
    make_template,
    open_issuer,
    qr_matrix,
    read_images,
    save_setting,
    set_form,
)
from pos_app.domain.card_template import CardIssuingError, SpecError
from pos_app.settings import Settings

__all__ = ["CardDesk", "JoinQr", "DEMO_SPEC"]

logger = logging.getLogger(__name__)

DEMO_SPEC = Path(__file__).resolve().parent / "resources" / "demo" / "card-template.toml"


@dataclasses.dataclass(frozen=True)
class JoinQr:
    """What the desk made: the template, the URL behind the join QR, and whether the template is new."""

    template_id: str
    join_url: str
    created: bool = False
    mode: str = ""
    endpoint_url: str = ""


class CardDesk:
    """The card template and join URL of this shop, as the terminal's supervisor action sees them.

    Args:
        settings: the terminal's settings (gateway, card section, config file to write back into).
        spec_path: the template spec used when no template exists yet (the demo's own spec); None: a
            template must have been made with ``pos-app card template create`` first.
        serve_endpoint: start the card-opening endpoint in this process (the demo) on a free loopback port;
            ``on_endpoint(url)`` is told its express-mode URL (the demo points the sandbox at it).
    """

    def __init__(self, settings: Settings, *, spec_path: Path | None = None, serve_endpoint: bool = False,
                 on_endpoint: Callable[[str], object] | None = None) -> None:
        self._settings = settings
        self._spec_path = spec_path
        self._serve = serve_endpoint
        self._on_endpoint = on_endpoint
        self._lock = threading.Lock()
        self._template_id = settings.card.template_id
        self._join_url = settings.card.join_url
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._endpoint_url = ""

    @property
    def template_id(self) -> str:
        with self._lock:
            return self._template_id

    @property
    def join_url(self) -> str:
        """The URL behind the join QR ("" until the supervisor made it)."""
        with self._lock:
            return self._join_url

    @property
    def poster_path(self) -> Path:
        """Where the A5 join poster is saved (the data folder)."""
        return self._settings.data_dir / "join-poster.pdf"

    @property
    def store_name(self) -> str:
        return self._settings.store.name

    def qr_matrix(self, text: str) -> list[list[bool]]:
        return qr_matrix(text)

    def prepare(self) -> JoinQr:
        """Blocking (a worker thread): make the template if there is none, apply for the join URL.

        Raises CardIssuingError with a message a supervisor can act on; nothing is half-saved.
        """
        try:
            return self._prepare()
        except SpecError as exc:
            raise CardIssuingError("the card template spec cannot be used: " + "; ".join(exc.problems)) from exc
        except SystemExit as exc:   # no gateway configured
            raise CardIssuingError(str(exc)) from exc
        except CardIssuingError:
            raise
        except Exception as exc:  # noqa: BLE001 - key files and the like: one line for the supervisor, logged
            logger.exception("card desk failed")
            raise CardIssuingError(f"the card set-up failed: {exc}") from exc

    def _prepare(self) -> JoinQr:
        settings = self._settings
        tid = self.template_id
        created = False
        mode = ""
        client, issuer = open_issuer(settings)
        try:
            if not tid:
                if self._spec_path is None:
                    raise CardIssuingError("no card template yet: run `pos-app card template create --spec FILE`")
                spec = load_spec(self._spec_path)
                images = read_images(spec, self._spec_path.parent)
                tid = make_template(issuer, client.config.app_id, spec, images)
                set_form(issuer, tid, spec)
                created, mode = True, spec.open_mode
                logger.info("card template %s made from %s (%s mode)", tid, self._spec_path.name, mode)
            url = issuer.activate_url(tid, out_string=settings.store.store_id)
        finally:
            client.close()
        with self._lock:
            self._template_id, self._join_url = tid, url
        if settings.config_file is not None:
            if tid != settings.card.template_id:
                save_setting(settings.config_file, "card", "template_id", tid)
            if url != settings.card.join_url:
                save_setting(settings.config_file, "card", "join_url", url)
        endpoint = self._start_endpoint(tid) if self._serve else ""
        return JoinQr(template_id=tid, join_url=url, created=created, mode=mode, endpoint_url=endpoint)

    def _start_endpoint(self, template_id: str) -> str:
        """The opening endpoint for ``template_id`` on a free loopback port (once); its express-mode URL."""
        from pos_app.card_endpoint import build_app, serve

        with self._lock:
            if self._server is not None:
                return self._endpoint_url
            card = dataclasses.replace(self._settings.card, template_id=template_id)
            app = build_app(dataclasses.replace(self._settings, card=card))
            server = serve(app, "127.0.0.1", 0, threads=2)
            self._server = server
            self._endpoint_url = f"http://127.0.0.1:{server.effective_port}/spi"
            self._thread = threading.Thread(target=self._run, args=(server,), name="card-endpoint", daemon=True)
            self._thread.start()
            url = self._endpoint_url
        if self._on_endpoint is not None:
            self._on_endpoint(url)
        logger.info("card-opening endpoint serving on %s", url)
        return url

    @staticmethod
    def _run(server: Any) -> None:
        try:
            server.run()
        except OSError:
            pass  # closed

    def close(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            from pos_app.card_endpoint import stop

            stop(server, thread)
