"""``pos-app card template create|modify|show`` and ``pos-app card form set``: the shop's card template.

Exit codes: 0 done, 2 bad spec or image (nothing sent), 3 Alipay refused or did not answer, 4 gateway setup.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from pos_app.domain.card_template import CardIssuingError, SpecError, TemplateSpec, form_fields
from pos_app.settings import Settings

from .core import settings_or_exit

__all__ = ["register"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SPEC = 2
EXIT_ALIPAY = 3
EXIT_GATEWAY = 4


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    card = sub.add_parser("card", help="the membership-card template and its open-card form at Alipay")
    csub = card.add_subparsers(dest="card_command", metavar="WHAT", required=True)
    tpl = csub.add_parser("template", help="create, change or show the card template")
    tsub = tpl.add_subparsers(dest="template_action", metavar="ACTION", required=True)
    for action, text in (("create", "upload the images and create the template; its id goes into the settings"),
                         ("modify", "upload the images and change the template named in the settings"),
                         ("show", "the template as Alipay holds it")):
        p = tsub.add_parser(action, help=text)
        _add_config(p)
        if action != "show":
            p.add_argument("--spec", metavar="FILE.toml", required=True, help="the template spec")
        p.add_argument("--template-id", metavar="ID", help="default: card.template_id of the settings")
        p.set_defaults(func=_cmd_template)
    join = csub.add_parser("join-qr", help="the in-store join QR: apply for the activation URL, write an A5 poster")
    _add_config(join)
    join.add_argument("--out", metavar="FILE.pdf", default="join-poster.pdf", help="default join-poster.pdf")
    join.add_argument("--callback", metavar="URL", help="historical mode: where the customer's browser returns")
    join.add_argument("--template-id", metavar="ID", help="default: card.template_id of the settings")
    join.set_defaults(func=_cmd_join_qr)
    ep = csub.add_parser("endpoint", help="serve the card-opening endpoint Alipay calls (behind the HTTPS proxy)")
    _add_config(ep)
    ep.add_argument("--host", default="127.0.0.1")
    ep.add_argument("--port", type=int, default=8090)
    ep.add_argument("--threads", type=int, default=8)
    ep.set_defaults(func=_cmd_endpoint)
    form = csub.add_parser("form", help="the fields a customer fills in to open a card")
    fsub = form.add_subparsers(dest="form_action", metavar="ACTION", required=True)
    fset = fsub.add_parser("set", help="alipay.marketing.card.formtemplate.set from the spec's [form]")
    _add_config(fset)
    fset.add_argument("--spec", metavar="FILE.toml", required=True)
    fset.add_argument("--template-id", metavar="ID", help="default: card.template_id of the settings")
    fset.set_defaults(func=_cmd_form)


def _issuer(settings: Settings) -> Any:
    from pos_app.card_setup import open_issuer

    return open_issuer(settings)


def _template_id(args: argparse.Namespace, settings: Settings) -> str | None:
    return str(args.template_id or settings.card.template_id or "") or None


def _cmd_template(args: argparse.Namespace) -> int:
    from pos_app.card_setup import load_spec, make_template, read_images, save_setting

    settings = settings_or_exit(args)
    action = args.template_action
    tid = _template_id(args, settings)
    if action in ("modify", "show") and not tid:
        print("card: no template yet: run `pos-app card template create --spec FILE` (or give --template-id)",
              file=sys.stderr)
        return EXIT_SPEC
    spec: TemplateSpec | None = None
    images: dict[str, tuple[str, bytes]] = {}
    if action != "show":
        spec_path = Path(args.spec)
        try:
            spec = load_spec(spec_path)
            images = read_images(spec, spec_path.parent)
        except SpecError as exc:
            for problem in exc.problems:
                print(f"card: {problem}", file=sys.stderr)
            logger.warning("card template spec refused: %d problem(s)", len(exc.problems))
            return EXIT_SPEC
    try:
        client, issuer = _issuer(settings)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_GATEWAY
    except Exception as exc:  # noqa: BLE001 - key problems: one line
        print(f"card: gateway configuration problem: {exc}", file=sys.stderr)
        return EXIT_GATEWAY
    try:
        if action == "show":
            assert tid is not None
            print(json.dumps(issuer.query_template(tid), ensure_ascii=False, indent=2))
            return EXIT_OK
        assert spec is not None
        tid = make_template(issuer, client.config.app_id, spec, images, modify=None if action == "create" else tid)
    except CardIssuingError as exc:
        print(f"card: {exc}", file=sys.stderr)
        return EXIT_ALIPAY
    finally:
        client.close()
    print(f"template_id = {tid}  (open mode: {spec.open_mode})")
    if action == "create":
        if settings.config_file is not None and tid != settings.card.template_id:
            save_setting(settings.config_file, "card", "template_id", str(tid))
            print(f"saved as card.template_id in {settings.config_file}")
        elif settings.config_file is None:
            print(f'add to the settings:  [card] template_id = "{tid}"')
    return EXIT_OK


def _cmd_form(args: argparse.Namespace) -> int:
    from pos_app.card_setup import load_spec

    settings = settings_or_exit(args)
    tid = _template_id(args, settings)
    if not tid:
        print("card: no template yet: run `pos-app card template create --spec FILE` (or give --template-id)",
              file=sys.stderr)
        return EXIT_SPEC
    try:
        spec = load_spec(Path(args.spec))
    except SpecError as exc:
        for problem in exc.problems:
            print(f"card: {problem}", file=sys.stderr)
        return EXIT_SPEC
    try:
        client, issuer = _issuer(settings)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_GATEWAY
    except Exception as exc:  # noqa: BLE001
        print(f"card: gateway configuration problem: {exc}", file=sys.stderr)
        return EXIT_GATEWAY
    fields = form_fields(spec)
    try:
        issuer.set_form(tid, fields)
    except CardIssuingError as exc:
        print(f"card: {exc}", file=sys.stderr)
        return EXIT_ALIPAY
    finally:
        client.close()
    print(f"open-card form of {tid}: required {', '.join(fields['required']['common_fields'])}"
          + (f"; optional {', '.join(fields['optional']['common_fields'])}" if "optional" in fields else ""))
    return EXIT_OK


def _cmd_join_qr(args: argparse.Namespace) -> int:
    from pos_app.card_setup import qr_matrix, save_setting

    settings = settings_or_exit(args)
    tid = _template_id(args, settings)
    if not tid:
        print("card: no template yet: run `pos-app card template create --spec FILE` (or give --template-id)",
              file=sys.stderr)
        return EXIT_SPEC
    callback = args.callback
    if callback and (not re.match(r"^https?://[^\s/?#]+", callback) or "?" in callback):
        print(f"card: --callback {callback!r} must be an http(s) URL without a query string", file=sys.stderr)
        return EXIT_SPEC
    try:
        client, issuer = _issuer(settings)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_GATEWAY
    except Exception as exc:  # noqa: BLE001
        print(f"card: gateway configuration problem: {exc}", file=sys.stderr)
        return EXIT_GATEWAY
    try:
        url = issuer.activate_url(tid, callback=callback, out_string=settings.store.store_id)
    except CardIssuingError as exc:
        print(f"card: {exc}", file=sys.stderr)
        return EXIT_ALIPAY
    finally:
        client.close()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pos_app.ui.poster_pdf import write_join_poster

    out = write_join_poster(args.out, qr_matrix(url), settings.store.name)
    print(f"written {out}")
    print(f"join URL: {url}")
    if settings.config_file is not None and url != settings.card.join_url:
        save_setting(settings.config_file, "card", "join_url", url)
        print(f"saved as card.join_url in {settings.config_file} (receipts of non-members and the customer "
              "display show it)")
    return EXIT_OK


def _cmd_endpoint(args: argparse.Namespace) -> int:
    import signal

    settings = settings_or_exit(args)
    from pos_app.card_endpoint import build_app, serve

    try:
        app = build_app(settings)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_GATEWAY
    except Exception as exc:  # noqa: BLE001 - key problems: one line
        print(f"card endpoint: gateway configuration problem: {exc}", file=sys.stderr)
        return EXIT_GATEWAY
    server = serve(app, args.host, args.port, threads=args.threads)
    port = server.effective_port
    print(json.dumps({"express": f"http://{args.host}:{port}/spi",
                      "callback": f"http://{args.host}:{port}{settings.card.callback_path}"}), flush=True)

    def _stop(signum: int, frame: object) -> None:
        server.trigger.pull_trigger(server.close)   # closed by the serving loop itself, which then returns

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    except OSError:
        pass  # closed by the signal handler
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        server.task_dispatcher.shutdown(timeout=5)   # waitress's close() leaves its worker threads running
    return EXIT_OK
