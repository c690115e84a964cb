"""Classify one scanned string: payment code, member card, product, receipt, ... or rejected.

The classifier is total: :func:`classify` returns a :class:`ScanCode` for any ``str`` and never
raises for bad input (only for a bad *configured* pattern, which is a set-up error).

Decisions (documented here once; the tests check each):

* Framing: CR, LF, TAB, STX, ETX and spaces are removed from both ends; an AIM symbology identifier
  (``]`` + letter + modifier, e.g. ``]E0``) is then removed and named.
* Order: Alipay payment code, face-pay code, another wallet's payment code, our receipt code,
  static member card, supervisor card, product codes, Alipay dynamic member code, rejected.
  A payment code always wins, so a member pattern configured too wide cannot take a payment.
* Product ``item_code`` is the catalogue lookup key: EAN-13 as scanned (13 digits), UPC-A and
  UPC-E as the 13-digit GTIN (``"0"`` + UPC-A), EAN-8 as its 8 digits, a GTIN-14 with a leading
  ``0`` as its 13-digit form. An 8-digit code is read as EAN-8 unless the symbology says UPC-E or
  only the UPC-E check digit fits.
* GS1 in-store codes (EAN-13, prefix 20-29), layout ``2X IIIII VVVVV K`` (no inner price check):
  prefix 21-22: ``VVVVV`` is the price in fen (0-99999, up to 999.99 yuan), kind PRODUCT with
  ``price_fen``; prefix 23-25: ``VVVVV`` is the weight in grams, kind WEIGHED_PRODUCT with
  ``weight_g``; prefix 20 and 26-29: the whole code is a store item code. For 21-25 the
  ``item_code`` is the *template* code ``2X IIIII 00000 K`` (a valid EAN-13 with zero value), so the
  catalogue stores weighed and priced items under a normal, check-digit-valid EAN-13.
* Receipt code: ``receipt_prefix`` + terminal (3 digits) + sequence (11 digits) + a GS1 mod-10
  check digit over those 14 digits.
* Alipay dynamic member code: 8-64 printable ASCII characters without spaces (0x21-0x7E) that
  nothing above claimed and that is not an all-digit string of a product length (8, 12, 13, 14).
"""

from __future__ import annotations

import enum
import functools
import logging
import re
from dataclasses import dataclass

from .errors import CodeError

__all__ = [
    "CodeKind",
    "ScanCode",
    "MAX_SCAN_LEN",
    "MIN_DYNAMIC_LEN",
    "DEFAULT_MEMBER_PATTERN",
    "DEFAULT_SUPERVISOR_PATTERN",
    "DEFAULT_RECEIPT_PREFIX",
    "strip_framing",
    "classify",
    "gtin_check_digit",
    "is_valid_gtin",
    "expand_upce",
    "make_receipt_code",
    "is_receipt_code",
    "parse_receipt_code",
    "instore_template_code",
    "mask_code",
    "compile_pattern",
]

logger = logging.getLogger(__name__)

MAX_SCAN_LEN = 64
"""Longest scan the terminal accepts (Alipay dynamic member codes are at most this long)."""

MIN_DYNAMIC_LEN = 8
"""Shortest plausible Alipay dynamic member code."""

DEFAULT_MEMBER_PATTERN = r"^8800\d{12}$"
DEFAULT_SUPERVISOR_PATTERN = r"^SUP\d{4,8}$"
DEFAULT_RECEIPT_PREFIX = "R"


class CodeKind(enum.Enum):
    """What a scanned string is, as far as the terminal is concerned."""

    PAYMENT = "payment"
    FACE_PAY = "face_pay"
    OTHER_WALLET = "other_wallet"
    PRODUCT = "product"
    WEIGHED_PRODUCT = "weighed_product"
    RECEIPT = "receipt"
    MEMBER_STATIC = "member_static"
    MEMBER_DYNAMIC = "member_dynamic"
    SUPERVISOR_CARD = "supervisor_card"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ScanCode:
    """The result of classifying one scan.

    ``text`` is the de-framed scan; ``repr()`` masks it to the last four characters so a
    payment or card code never reaches a log by accident. ``reason`` explains REJECTED and
    OTHER_WALLET results (safe to show to the cashier). ``item_code``/``price_fen``/``weight_g``
    are set for products; ``wallet`` names the wallet for payment codes.
    """

    kind: CodeKind
    text: str
    symbology: str
    reason: str = ""
    item_code: str = ""
    price_fen: int | None = None
    weight_g: int | None = None
    wallet: str = ""

    def __repr__(self) -> str:
        return (
            f"ScanCode(kind={self.kind.name}, text={mask_code(self.text)!r}, symbology={self.symbology!r}, "
            f"reason={self.reason!r}, item_code={self.item_code!r}, price_fen={self.price_fen!r}, "
            f"weight_g={self.weight_g!r}, wallet={self.wallet!r})"
        )

    @property
    def accepted(self) -> bool:
        """True unless the scan was rejected or belongs to another wallet."""
        return self.kind not in (CodeKind.REJECTED, CodeKind.OTHER_WALLET)


def mask_code(text: str) -> str:
    """Mask all but the last four characters (``"****1234"``); short texts are fully masked."""
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


# --- framing -------------------------------------------------------------------------------

_FRAMING_CHARS = "\r\n\t\x02\x03 "

# AIM symbology identifiers: "]" + code letter + modifier character.
_AIM_LETTERS = {
    "A": "CODE39",
    "C": "CODE128",
    "d": "DATAMATRIX",
    "E": "EAN",
    "F": "CODABAR",
    "G": "CODE93",
    "I": "ITF",
    "L": "PDF417",
    "Q": "QR",
    "X": "OTHER",
    "z": "AZTEC",
    "e": "GS1_DATABAR",
}
_AIM_EAN = {"0": "EAN13", "1": "EAN_ADDON2", "2": "EAN_ADDON5", "3": "EAN13", "4": "EAN8"}
_AIM_MODIFIERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def strip_framing(raw: str) -> tuple[str, str]:
    """Remove scanner framing; return ``(text, symbology)``.

    CR/LF/TAB/STX/ETX and spaces are stripped from both ends, then a leading AIM identifier is removed
    and mapped (``]C1`` -> ``"CODE128"``, ``]E0`` -> ``"EAN13"``, ``]E4`` -> ``"EAN8"``,
    ``]Q1`` -> ``"QR"``). Symbology is ``""`` when the scan carried no AIM identifier.
    """
    text = raw.strip(_FRAMING_CHARS)
    symbology = ""
    if len(text) >= 3 and text[0] == "]" and text[1] in _AIM_LETTERS and text[2] in _AIM_MODIFIERS:
        letter, modifier = text[1], text[2]
        if letter == "E":
            symbology = _AIM_EAN.get(modifier, "EAN")
        else:
            symbology = _AIM_LETTERS[letter]
        text = text[3:].strip(_FRAMING_CHARS)
    return text, symbology


# --- check digits --------------------------------------------------------------------------


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (all digits; the check digit itself excluded).

    Weights 3,1,3,... from the right. Raises :class:`CodeError` if ``body`` is not digits.
    """
    if not body or not body.isascii() or not body.isdigit():
        raise CodeError(f"a check digit needs digits, got {len(body)} characters that are not all digits")
    total = 0
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True if ``code`` is 8, 12, 13 or 14 digits with a correct GS1 check digit."""
    if len(code) not in (8, 12, 13, 14) or not code.isascii() or not code.isdigit():
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def expand_upce(code: str) -> str:
    """Expand an 8-digit UPC-E (number system 0/1, 6 digits, check) to its 12-digit UPC-A.

    The returned UPC-A keeps the UPC-E's check digit (which is the UPC-A's by definition).
    Raises :class:`CodeError` for anything that is not 8 digits starting with 0 or 1.
    """
    if len(code) != 8 or not code.isascii() or not code.isdigit() or code[0] not in "01":
        raise CodeError("UPC-E is 8 digits starting with 0 or 1")
    ns, d, check = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def _upce_valid(code: str) -> bool:
    if code[0] not in "01":
        return False
    upca = expand_upce(code)
    return gtin_check_digit(upca[:-1]) == int(upca[-1])


# --- receipt codes -------------------------------------------------------------------------

_RECEIPT_TERMINAL_DIGITS = 3
_RECEIPT_SEQ_DIGITS = 11


def make_receipt_code(terminal_no: int, seq: int, *, prefix: str = DEFAULT_RECEIPT_PREFIX) -> str:
    """Our receipt code: prefix + terminal (3 digits) + sequence (11 digits) + mod-10 check digit."""
    if isinstance(terminal_no, bool) or not isinstance(terminal_no, int) or not 0 <= terminal_no <= 999:
        raise CodeError(f"terminal number must be 0-999, got {terminal_no!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 10**_RECEIPT_SEQ_DIGITS:
        raise CodeError(f"receipt sequence must be 0-{10**_RECEIPT_SEQ_DIGITS - 1}, got {seq!r}")
    body = f"{terminal_no:0{_RECEIPT_TERMINAL_DIGITS}d}{seq:0{_RECEIPT_SEQ_DIGITS}d}"
    return f"{prefix}{body}{gtin_check_digit(body)}"


def _receipt_shape(text: str, prefix: str) -> str | None:
    """The 15 digits after ``prefix`` if ``text`` has the receipt shape, else None."""
    if not text.startswith(prefix):
        return None
    digits = text[len(prefix):]
    if len(digits) != 15 or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def is_receipt_code(text: str, prefix: str = DEFAULT_RECEIPT_PREFIX) -> bool:
    """True if ``text`` is one of our receipt codes with a correct check digit."""
    digits = _receipt_shape(text, prefix)
    return digits is not None and gtin_check_digit(digits[:14]) == int(digits[14])


def parse_receipt_code(text: str, prefix: str = DEFAULT_RECEIPT_PREFIX) -> tuple[int, int]:
    """``(terminal_no, seq)`` from a receipt code; :class:`CodeError` if it is not one."""
    if not is_receipt_code(text, prefix):
        raise CodeError("not a receipt code of this shop (wrong shape or check digit)")
    digits = text[len(prefix):]
    return int(digits[:_RECEIPT_TERMINAL_DIGITS]), int(digits[_RECEIPT_TERMINAL_DIGITS:14])


def instore_template_code(prefix: str, item: str) -> str:
    """The catalogue key of a GS1 in-store item: ``prefix`` (2 digits) + ``item`` (5) + 00000 + check."""
    if len(prefix) != 2 or not prefix.isdigit() or prefix[0] != "2":
        raise CodeError(f"in-store prefix must be 20-29, got {prefix!r}")
    if len(item) != 5 or not item.isascii() or not item.isdigit():
        raise CodeError(f"in-store item number must be 5 digits, got {item!r}")
    body = f"{prefix}{item}00000"
    return body + str(gtin_check_digit(body))


# --- patterns ------------------------------------------------------------------------------

_PAYMENT_RE = re.compile(r"(2[5-9]|30)[0-9]{14,22}")
_FACE_PAY_RE = re.compile(r"fp.{33}", re.DOTALL)
_WECHAT_RE = re.compile(r"1[0-5][0-9]{16}")
_UNIONPAY_RE = re.compile(r"62[0-9]{17}")
_PRODUCT_LENGTHS = (8, 12, 13, 14)


@functools.lru_cache(maxsize=32)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a configured code pattern (ASCII digits); :class:`CodeError` if it is not a regex."""
    try:
        return re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise CodeError(f"invalid code pattern {pattern!r}: {exc}") from exc


def _matches(pattern: str, text: str) -> bool:
    return compile_pattern(pattern).fullmatch(text) is not None


def _norm_symbology(symbology: str) -> str:
    sym = symbology.upper().replace("-", "").replace("_", "").replace(" ", "")
    return "QR" if sym == "QRCODE" else sym


# Every reason is a fixed sentence (no values inside), so the cashier's screen words it in the UI language
# (resources/i18n; tests/ui/test_qa_i18n.py feeds each one through the zh_CN catalogue).
_CHECK_DIGIT_WRONG = {
    12: "check digit wrong (UPC-A): rescan or key the code",
    13: "check digit wrong (EAN-13): rescan or key the code",
    14: "check digit wrong (GTIN-14): rescan or key the code",
}
TOO_LONG = f"too long: more than {MAX_SCAN_LEN} characters"


def _rejected(text: str, symbology: str, reason: str) -> ScanCode:
    return ScanCode(CodeKind.REJECTED, text, symbology, reason=reason)


def _classify_product(text: str, symbology: str) -> ScanCode:
    """``text`` is all ASCII digits of a product length (8, 12, 13 or 14)."""
    length = len(text)
    sym = _norm_symbology(symbology)
    if length == 8:
        ean8_ok = is_valid_gtin(text)
        upce_ok = _upce_valid(text)
        if upce_ok and (sym == "UPCE" or not ean8_ok):
            gtin13 = "0" + expand_upce(text)
            return ScanCode(CodeKind.PRODUCT, text, symbology or "UPCE", item_code=gtin13)
        if ean8_ok:
            return ScanCode(CodeKind.PRODUCT, text, symbology or "EAN8", item_code=text)
        return _rejected(text, symbology, "check digit wrong (EAN-8/UPC-E): rescan or key the code")
    if not is_valid_gtin(text):
        return _rejected(text, symbology, _CHECK_DIGIT_WRONG[length])
    if length == 12:
        return ScanCode(CodeKind.PRODUCT, text, symbology or "UPCA", item_code="0" + text)
    if length == 14:
        if text[0] != "0":
            return ScanCode(CodeKind.PRODUCT, text, symbology or "ITF14", item_code=text)
        text13 = text[1:]
    else:
        text13 = text
    sym_out = symbology or "EAN13"
    prefix = text13[:2]
    if prefix in ("21", "22"):
        return ScanCode(
            CodeKind.PRODUCT, text, sym_out,
            item_code=instore_template_code(prefix, text13[2:7]), price_fen=int(text13[7:12]),
        )
    if prefix in ("23", "24", "25"):
        return ScanCode(
            CodeKind.WEIGHED_PRODUCT, text, sym_out,
            item_code=instore_template_code(prefix, text13[2:7]), weight_g=int(text13[7:12]),
        )
    return ScanCode(CodeKind.PRODUCT, text, sym_out, item_code=text13)


def classify(
    raw: str,
    symbology: str = "",
    *,
    member_pattern: str = DEFAULT_MEMBER_PATTERN,
    receipt_prefix: str = DEFAULT_RECEIPT_PREFIX,
    supervisor_pattern: str = DEFAULT_SUPERVISOR_PATTERN,
) -> ScanCode:
    """Classify one scan (framing is stripped first). Total and deterministic for any ``str``.

    ``symbology`` (from the driver) wins over one found in an AIM prefix. Only a bad
    ``member_pattern``/``supervisor_pattern`` raises (:class:`CodeError`), never bad input.
    """
    if not isinstance(raw, str):
        logger.debug("scan is not text: %s", type(raw).__name__)
        return _rejected("", symbology, "scan is not text")
    text, aim = strip_framing(raw)
    sym = symbology or aim
    result = _classify_text(text, sym, member_pattern, receipt_prefix, supervisor_pattern)
    logger.debug("scan classified as %s (%s, %d chars)", result.kind.name, mask_code(text), len(text))
    return result


def _classify_text(
    text: str, sym: str, member_pattern: str, receipt_prefix: str, supervisor_pattern: str
) -> ScanCode:
    if not text:
        return _rejected(text, sym, "empty scan")
    if len(text) > MAX_SCAN_LEN:
        return _rejected(text, sym, TOO_LONG)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return _rejected(text, sym, "contains control characters: check the scanner's suffix settings")
    if not text.isascii():
        return _rejected(text, sym, "contains non-ASCII characters (is the keyboard layout right?)")
    if _PAYMENT_RE.fullmatch(text):
        return ScanCode(CodeKind.PAYMENT, text, sym, wallet="Alipay")
    if _FACE_PAY_RE.fullmatch(text):
        return ScanCode(CodeKind.FACE_PAY, text, sym, wallet="Alipay")
    if _WECHAT_RE.fullmatch(text):
        return ScanCode(
            CodeKind.OTHER_WALLET, text, sym, wallet="WeChat Pay",
            reason="This is a WeChat Pay code; this terminal takes Alipay only",
        )
    if _UNIONPAY_RE.fullmatch(text):
        return ScanCode(
            CodeKind.OTHER_WALLET, text, sym, wallet="UnionPay",
            reason="This is a UnionPay QR payment code; this terminal takes Alipay only",
        )
    receipt_digits = _receipt_shape(text, receipt_prefix)
    if receipt_digits is not None:
        if is_receipt_code(text, receipt_prefix):
            return ScanCode(CodeKind.RECEIPT, text, sym)
        if receipt_prefix:
            return _rejected(text, sym, "receipt code check digit wrong: rescan the receipt")
    if _matches(member_pattern, text):
        return ScanCode(CodeKind.MEMBER_STATIC, text, sym)
    if _matches(supervisor_pattern, text):
        return ScanCode(CodeKind.SUPERVISOR_CARD, text, sym)
    if text.isdigit() and len(text) in _PRODUCT_LENGTHS:
        return _classify_product(text, sym)
    if " " in text:
        return _rejected(text, sym, "contains spaces: not a code this terminal knows")
    if len(text) < MIN_DYNAMIC_LEN:
        return _rejected(text, sym, "too short: not a code this terminal knows")
    return ScanCode(CodeKind.MEMBER_DYNAMIC, text, sym)
