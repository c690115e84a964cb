"""Command line: ``sandbox`` (local gateway), ``keygen`` (merchant key pair) and ``gateway call`` (one signed call)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["register", "main", "EXIT_OK", "EXIT_BUSINESS", "EXIT_UNKNOWN", "EXIT_KEY"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BUSINESS = 2
EXIT_UNKNOWN = 3
EXIT_KEY = 4
_KEY_SUB_CODES = ("isv.invalid-signature", "isv.missing-signature-key", "isv.invalid-signature-type",
                  "isv.missing-signature-config", "isv.invalid-app-id")


class _SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def _default_sandbox_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("pos-app")) / "sandbox"


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from pos_app.sandbox import SandboxServer

    data_dir = Path(args.data_dir) if args.data_dir else _default_sandbox_dir()
    server = SandboxServer(data_dir, host=args.host, port=args.port, seed_demo=args.seed_demo).start()
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        sys.stdout.write(json.dumps(server.info()) + "\n")
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return EXIT_OK


def _passphrase(var: str | None) -> str | None:
    if not var:
        return None
    value = os.environ.get(var)
    if value is None:
        raise SystemExit(f"environment variable {var} is not set")
    return value


def _cmd_keygen(args: argparse.Namespace) -> int:
    from pos_app.bootstrap import (
        KeyConfigError,
        generate_private_key,
        public_key_base64,
        write_private_key,
        write_public_key,
    )

    out = Path(args.out)
    private_path = out / "app_private_key.pem"
    if (private_path.exists() or private_path.is_symlink()) and not args.force:
        print(f"{private_path} exists; use --force to overwrite", file=sys.stderr)
        return 1
    passphrase = _passphrase(args.passphrase_env) if args.passphrase_env else None
    if args.passphrase_env and not passphrase:
        print(f"keygen: the environment variable {args.passphrase_env} is empty: the key would not be encrypted",
              file=sys.stderr)
        return 2
    try:
        key = generate_private_key(args.bits)
        write_private_key(private_path, key, passphrase)
        write_public_key(out / "app_public_key.pem", key.public_key())
    except KeyConfigError as exc:
        print(f"keygen: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"keygen: cannot write the key pair to {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"private key: {private_path} (owner-only{', encrypted' if passphrase else ''})", file=sys.stderr)
    print(f"public key:  {out / 'app_public_key.pem'}", file=sys.stderr)
    print("paste this into the Alipay console (应用公钥):", file=sys.stderr)
    print(public_key_base64(key.public_key()))
    return EXIT_OK


def _cmd_gateway_call(args: argparse.Namespace) -> int:
    from pos_app.bootstrap import AlipayClient, AlipayError, load_gateway_config
    from pos_app.services.ports.gateway import GatewayBusinessFailure, GatewayInProgress, GatewaySuccess

    if args.config or os.environ.get("POS_CONFIG"):  # fill what the flags did not give from the [gateway] settings
        from pos_app.settings import SettingsError, load_settings

        try:
            gw = load_settings(args.config).gateway  # None: $POS_CONFIG, like every other command
        except SettingsError as exc:
            for line in exc.problems:
                print(f"settings: {line}", file=sys.stderr)
            return 1
        args.gateway_url = args.gateway_url or gw.url
        args.app_id = args.app_id or gw.app_id
        args.app_private_key = args.app_private_key or gw.app_private_key
        args.alipay_public_key = args.alipay_public_key or gw.alipay_public_key
        args.passphrase_env = args.passphrase_env or gw.passphrase_env or None
    missing = [f for f in ("gateway_url", "app_id", "app_private_key", "alipay_public_key") if not getattr(args, f)]
    if missing:
        print("missing: " + ", ".join("--" + m.replace("_", "-") for m in missing), file=sys.stderr)
        return EXIT_KEY if set(missing) & {"app_private_key", "alipay_public_key"} else 1
    try:
        biz: Any = json.loads(args.biz)
    except ValueError as exc:
        print(f"--biz is not JSON: {exc}", file=sys.stderr)
        return 1
    if not isinstance(biz, dict):
        print("--biz must be a JSON object", file=sys.stderr)
        return 1
    try:
        config = load_gateway_config(
            args.gateway_url, args.app_id, args.app_private_key, args.alipay_public_key,
            # an unset variable is no passphrase: an encrypted key then says it needs one
            passphrase=(os.environ.get(args.passphrase_env) or None) if args.passphrase_env else None,
            sign_type=args.sign_type,
            connect_timeout_s=args.connect_timeout, read_timeout_s=args.read_timeout,
        )
    except AlipayError as exc:
        print(f"key/config problem: {exc}", file=sys.stderr)
        return EXIT_KEY
    with AlipayClient(config, clock=_SystemClock()) as client:
        result = client.call(args.method, biz, extra={"auth_token": args.auth_token} if args.auth_token else None)
    if isinstance(result, GatewaySuccess | GatewayInProgress):
        print(json.dumps(dict(result.body), ensure_ascii=False, indent=2))
        return EXIT_OK
    if isinstance(result, GatewayBusinessFailure):
        print(json.dumps(dict(result.body), ensure_ascii=False, indent=2))
        print(f"business failure: code={result.code} sub_code={result.sub_code} sub_msg={result.sub_msg}",
              file=sys.stderr)
        return EXIT_KEY if result.sub_code in _KEY_SUB_CODES else EXIT_BUSINESS
    print(f"unknown outcome ({result.cause}): {result.reason}", file=sys.stderr)
    return EXIT_KEY if result.cause == "signature" else EXIT_UNKNOWN


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sandbox``, ``keygen`` and ``gateway call`` to the top-level subcommands."""
    p = sub.add_parser("sandbox", help="run the local Alipay sandbox gateway on loopback")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--port", type=int, default=0, help="port (0 = a free port)")
    p.add_argument("--data-dir", default=None, help="state and key directory (kept across restarts)")
    p.add_argument("--seed-demo", action="store_true", help="create a template and a card per demo member")
    p.set_defaults(func=_cmd_sandbox)

    p = sub.add_parser("keygen", help="make a new RSA-2048 merchant key pair")
    p.add_argument("--out", required=True, help="directory for app_private_key.pem and app_public_key.pem")
    p.add_argument("--passphrase-env", default=None, help="encrypt the private key with the passphrase in this env var")
    p.add_argument("--bits", type=int, default=2048, help="RSA key size (Alipay RSA2 wants 2048, the default)")
    p.add_argument("--force", action="store_true", help="overwrite an existing key")
    p.set_defaults(func=_cmd_keygen)

    p = sub.add_parser("gateway", help="gateway diagnostics")
    gsub = p.add_subparsers(dest="gateway_command", required=True)
    c = gsub.add_parser("call", help="one signed call; prints the verified response object")
    c.add_argument("method", help="e.g. alipay.trade.query")
    c.add_argument("--biz", required=True, help="biz_content as a JSON object")
    c.add_argument("--config", metavar="FILE", default=None,
                   help="take the gateway url, app id and key paths from this settings file; default $POS_CONFIG")
    c.add_argument("--gateway-url", default=None)
    c.add_argument("--app-id", default=None)
    c.add_argument("--app-private-key", default=None, help="merchant private key file")
    c.add_argument("--alipay-public-key", default=None, help="Alipay public key file")
    c.add_argument("--passphrase-env", default=None, help="env var holding the private key passphrase")
    c.add_argument("--sign-type", default="RSA2", choices=("RSA2", "RSA"))
    c.add_argument("--auth-token", default=None, help="user auth_token (card.open)")
    c.add_argument("--connect-timeout", type=float, default=3.0)
    c.add_argument("--read-timeout", type=float, default=15.0)
    c.set_defaults(func=_cmd_gateway_call)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m pos_app.cli.gateway ...``) for when the main CLI is not wired."""
    parser = argparse.ArgumentParser(prog="pos-app")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
