"""Unit tests for pos_app.domain.codes: framing, check digits and the scan classifier."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.codes import (
    CodeKind,
    ScanCode,
    classify,
    compile_pattern,
    expand_upce,
    gtin_check_digit,
    instore_template_code,
    is_receipt_code,
    is_valid_gtin,
    make_receipt_code,
    mask_code,
    parse_receipt_code,
    strip_framing,
)
from pos_app.domain.errors import CodeError


def with_check(body: str) -> str:
    return body + str(gtin_check_digit(body))


# --- framing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text", "sym"),
    [
        ("6901234567892\r\n", "6901234567892", ""),
        ("\t6901234567892\r", "6901234567892", ""),
        ("]E06901234567892\r", "6901234567892", "EAN13"),
        ("]E3690123456789212", "690123456789212", "EAN13"),
        ("]E496385074\n", "96385074", "EAN8"),
        ("]E1 12", "12", "EAN_ADDON2"),
        ("]E9123", "123", "EAN"),
        ("]C1R0010000000001X", "R0010000000001X", "CODE128"),
        ("]Q1https://example", "https://example", "QR"),
        ("]Q6abc", "abc", "QR"),
        ("]d2XYZ", "XYZ", "DATAMATRIX"),
        ("]Z1abc", "]Z1abc", ""),  # unknown AIM letter: left alone
        ("]C", "]C", ""),
        ("]C~abc", "]C~abc", ""),  # modifier must be a digit or capital
        ("\x02286648048691290423\x03", "286648048691290423", ""),
        ("", "", ""),
    ],
)
def test_strip_framing(raw: str, text: str, sym: str) -> None:
    assert strip_framing(raw) == (text, sym)


# --- check digits --------------------------------------------------------------------------


def test_gtin_check_digit_known_values() -> None:
    assert gtin_check_digit("400638133393") == 1  # 4006381333931
    assert gtin_check_digit("9638507") == 4  # EAN-8 96385074
    assert gtin_check_digit("03600029145") == 2  # UPC-A 036000291452
    assert is_valid_gtin("4006381333931")
    assert not is_valid_gtin("4006381333932")
    assert not is_valid_gtin("123")
    assert not is_valid_gtin("40063813339x1")


@pytest.mark.parametrize("bad", ["", "12a", "١٢٣"])
def test_gtin_check_digit_rejects_non_digits(bad: str) -> None:
    with pytest.raises(CodeError):
        gtin_check_digit(bad)


@settings(derandomize=True, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_check_digit_detects_every_single_digit_error(body: str) -> None:
    good = with_check(body)
    assert is_valid_gtin(good) or len(good) not in (8, 12, 13, 14)
    for i, char in enumerate(good):
        for replacement in "0123456789":
            if replacement != char:
                changed = good[:i] + replacement + good[i + 1:]
                assert gtin_check_digit(changed[:-1]) != int(changed[-1])


@pytest.mark.parametrize(("upce", "upca"), [("01234565", "012345000065"), ("04252614", "042100005264")])
def test_expand_upce_known_values(upce: str, upca: str) -> None:
    assert expand_upce(upce) == upca
    assert is_valid_gtin(upca)


def test_expand_upce_rules() -> None:
    # d1..d6 = 123450 -> 12 0 0000 345
    assert expand_upce("01234500") == "012000003450"
    assert expand_upce("01234530") == "012300000450"
    assert expand_upce("01234540") == "012340000050"
    assert expand_upce("01234570") == "012345000070"
    assert expand_upce("11234510")[0] == "1"
    for bad in ("21234510", "0123451", "0123451a"):
        with pytest.raises(CodeError):
            expand_upce(bad)


# --- receipt codes -------------------------------------------------------------------------


def test_receipt_code_round_trip() -> None:
    code = make_receipt_code(3, 1234)
    assert code.startswith("R003") and len(code) == 16
    assert is_receipt_code(code)
    assert parse_receipt_code(code) == (3, 1234)
    assert classify(code).kind is CodeKind.RECEIPT
    other = make_receipt_code(999, 10**11 - 1, prefix="SHOP")
    assert parse_receipt_code(other, "SHOP") == (999, 10**11 - 1)
    assert classify(other, receipt_prefix="SHOP").kind is CodeKind.RECEIPT


@pytest.mark.parametrize(("terminal", "seq"), [(-1, 1), (1000, 1), (1, -1), (1, 10**11), (True, 1), (1, 2.0)])
def test_make_receipt_code_rejects_out_of_range(terminal: object, seq: object) -> None:
    with pytest.raises(CodeError):
        make_receipt_code(terminal, seq)  # type: ignore[arg-type]


def test_receipt_code_with_wrong_check_digit_is_rejected() -> None:
    code = make_receipt_code(1, 42)
    bad = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert not is_receipt_code(bad)
    assert not is_receipt_code("R12")
    assert not is_receipt_code("X" + code[1:])
    result = classify(bad)
    assert result.kind is CodeKind.REJECTED
    assert "check digit" in result.reason
    with pytest.raises(CodeError):
        parse_receipt_code(bad)


def test_receipt_with_empty_prefix_is_15_digits() -> None:
    code = make_receipt_code(7, 99, prefix="")
    assert len(code) == 15
    assert classify(code, receipt_prefix="").kind is CodeKind.RECEIPT
    bad = code[:-1] + str((int(code[-1]) + 1) % 10)
    # without a prefix a bad 15-digit string is just an opaque code
    assert classify(bad, receipt_prefix="").kind is CodeKind.MEMBER_DYNAMIC


# --- classification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["28763443825664394", "281426348240442632", "2500000000000000", "300000000000000000000000"],
)
def test_alipay_payment_codes(code: str) -> None:
    result = classify(code + "\r\n")
    assert result.kind is CodeKind.PAYMENT
    assert result.wallet == "Alipay"
    assert result.text == code
    assert result.accepted


def test_payment_code_too_long_or_wrong_prefix_is_not_payment() -> None:
    assert classify("3" + "0" * 24).kind is not CodeKind.PAYMENT  # 25 digits
    assert classify("31" + "0" * 16).kind is not CodeKind.PAYMENT
    assert classify("24" + "0" * 16).kind is not CodeKind.PAYMENT


def test_face_pay() -> None:
    code = "fp" + "a1B2" * 8 + "c"
    assert len(code) == 35
    assert classify(code).kind is CodeKind.FACE_PAY
    assert classify(code + "x").kind is CodeKind.MEMBER_DYNAMIC


def test_other_wallets_are_named() -> None:
    wechat = classify("134567890123456789")
    assert wechat.kind is CodeKind.OTHER_WALLET
    assert "WeChat Pay" in wechat.reason and wechat.wallet == "WeChat Pay"
    assert not wechat.accepted
    union = classify("6212345678901234567")
    assert union.kind is CodeKind.OTHER_WALLET and "UnionPay" in union.reason


def test_static_member_card_and_custom_pattern() -> None:
    assert classify("8800123456789012").kind is CodeKind.MEMBER_STATIC
    assert classify("C123456", member_pattern=r"^C\d{6}$").kind is CodeKind.MEMBER_STATIC
    # a payment code always wins, even against a member pattern that would match it
    assert classify("28763443825664394", member_pattern=r"^\d+$").kind is CodeKind.PAYMENT


def test_bad_configured_pattern_raises_code_error() -> None:
    with pytest.raises(CodeError):
        classify("abc", member_pattern="(")
    assert compile_pattern(r"^\d$").fullmatch("5")


def test_supervisor_card() -> None:
    assert classify("SUP1234").kind is CodeKind.SUPERVISOR_CARD
    assert classify("]C0SUP12345678").kind is CodeKind.SUPERVISOR_CARD
    assert classify("SUP123").kind is CodeKind.REJECTED  # too short for anything
    assert classify("BOSS01", supervisor_pattern=r"BOSS\d\d").kind is CodeKind.SUPERVISOR_CARD


def test_ean13_product() -> None:
    result = classify("]E06901234567892")
    assert result.kind is CodeKind.PRODUCT
    assert result.item_code == "6901234567892"
    assert result.symbology == "EAN13"
    assert classify("6901234567892").symbology == "EAN13"
    assert classify("6901234567892", "EAN-13").symbology == "EAN-13"


def test_ean8_and_upc() -> None:
    ean8 = classify("96385074")
    assert (ean8.kind, ean8.item_code, ean8.symbology) == (CodeKind.PRODUCT, "96385074", "EAN8")
    upca = classify("036000291452")
    assert (upca.kind, upca.item_code, upca.symbology) == (CodeKind.PRODUCT, "0036000291452", "UPCA")
    # UPC-E 04252614 expands to UPC-A 042100005264
    upce = classify("04252614")
    assert upce.kind is CodeKind.PRODUCT
    assert upce.item_code == "0042100005264"
    assert upce.symbology == "UPCE"


def test_eight_digits_valid_as_both_prefers_ean8_unless_told() -> None:
    # find an 8-digit string valid both as EAN-8 and as UPC-E
    for n in range(10**6):
        body = f"0{n:06d}"
        code = with_check(body)
        upca = expand_upce(code)
        if gtin_check_digit(upca[:-1]) == int(upca[-1]):
            break
    assert classify(code).symbology == "EAN8"
    told = classify(code, "UPC-E")
    assert told.item_code == "0" + upca
    assert told.symbology == "UPC-E"


def test_gtin14() -> None:
    inner = "6901234567892"
    assert classify("0" + inner).item_code == inner
    case = with_check("1690123456789")
    result = classify(case)
    assert (result.kind, result.item_code, result.symbology) == (CodeKind.PRODUCT, case, "ITF14")
    price = classify("0" + with_check("212345012345"))
    assert price.price_fen == 1234 * 10 + 5


@pytest.mark.parametrize("code", ["6901234567893", "96385075", "036000291453", "16901234567890", "04252615"])
def test_bad_check_digit_is_rejected(code: str) -> None:
    result = classify(code)
    assert result.kind is CodeKind.REJECTED
    assert "check digit" in result.reason


def test_price_embedded_instore_code() -> None:
    code = with_check("21" + "00042" + "01250")
    result = classify(code)
    assert result.kind is CodeKind.PRODUCT
    assert result.price_fen == 1250
    assert result.item_code == instore_template_code("21", "00042")
    assert is_valid_gtin(result.item_code)
    assert classify(with_check("22" + "00042" + "99999")).price_fen == 99999


@pytest.mark.parametrize("prefix", ["23", "24", "25"])
def test_weight_embedded_instore_code(prefix: str) -> None:
    code = with_check(prefix + "00107" + "00456")
    result = classify(code)
    assert result.kind is CodeKind.WEIGHED_PRODUCT
    assert result.weight_g == 456
    assert result.item_code == instore_template_code(prefix, "00107")
    assert result.item_code.endswith(str(gtin_check_digit(prefix + "0010700000")))


@pytest.mark.parametrize("prefix", ["20", "26", "27", "28", "29"])
def test_plain_instore_code(prefix: str) -> None:
    code = with_check(prefix + "1234567890")
    result = classify(code)
    assert result.kind is CodeKind.PRODUCT
    assert result.item_code == code
    assert result.price_fen is None and result.weight_g is None


@pytest.mark.parametrize(("prefix", "item"), [("30", "00001"), ("2", "00001"), ("2a", "00001"), ("21", "0001"),
                                              ("21", "0000x")])
def test_instore_template_code_validates(prefix: str, item: str) -> None:
    with pytest.raises(CodeError):
        instore_template_code(prefix, item)


@pytest.mark.parametrize(
    "code", ["ABCDEFGH", "alipay-member-0123456789", "9" * 9, "x" * 64, "12345678901", "M:abc/def?x=1"]
)
def test_dynamic_member_codes(code: str) -> None:
    assert classify(code).kind is CodeKind.MEMBER_DYNAMIC


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        ("", "empty"),
        ("\r\n", "empty"),
        ("x" * 65, "too long"),
        ("abc\x00defgh", "control"),
        ("abcdef\x1bgh", "control"),
        ("abcdefg\x7fh", "control"),
        ("会员卡号12345678", "non-ASCII"),
        ("abc defgh", "spaces"),
        ("ABC", "too short"),
        ("1234567", "too short"),
    ],
)
def test_rejections_have_reasons(raw: str, reason_part: str) -> None:
    result = classify(raw)
    assert result.kind is CodeKind.REJECTED
    assert reason_part in result.reason
    assert not result.accepted


def test_non_str_input_is_rejected_not_raised() -> None:
    result = classify(12345678)  # type: ignore[arg-type]
    assert result.kind is CodeKind.REJECTED
    assert "not text" in result.reason


def test_repr_masks_the_code() -> None:
    code = "28763443825664394"
    text = repr(classify(code))
    assert code not in text
    assert "4394" in text
    assert mask_code("123") == "***"
    assert mask_code("12345") == "*2345"
    assert isinstance(classify(code), ScanCode)


@settings(derandomize=True, deadline=None)
@given(st.text(max_size=100), st.sampled_from(["", "EAN13", "QR", "UPCE"]))
def test_classify_is_total_and_deterministic(raw: str, sym: str) -> None:
    first = classify(raw, sym)
    second = classify(raw, sym)
    assert first == second
    assert isinstance(first.kind, CodeKind)
    if first.kind is CodeKind.REJECTED:
        assert first.reason
    if first.kind is CodeKind.PAYMENT:
        assert first.text.isdigit() and 16 <= len(first.text) <= 24


@settings(derandomize=True, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_classify_digit_strings(raw: str) -> None:
    result = classify(raw)
    assert result.kind is not CodeKind.FACE_PAY
    if result.kind in (CodeKind.PRODUCT, CodeKind.WEIGHED_PRODUCT):
        assert is_valid_gtin(result.item_code)


@settings(derandomize=True, deadline=None)
@given(st.from_regex(r"\A(2[5-9]|30)[0-9]{14,22}\Z"))
def test_every_payment_code_is_payment(code: str) -> None:
    assert classify(code).kind is CodeKind.PAYMENT


def test_real_product_barcode_texts_are_products(data_dir) -> None:  # type: ignore[no-untyped-def]
    """The expected texts of the EAN/UPC photographs all classify as products."""
    seen = 0
    for folder in sorted((data_dir / "barcode-samples").glob("*-*")):
        if not folder.name.startswith(("ean13", "ean8", "upca")):
            continue
        for path in folder.glob("*.txt"):
            if path.name.endswith(".result.txt"):
                continue
            result = classify(path.read_text(encoding="utf-8"))
            assert result.kind is CodeKind.PRODUCT, (path, result.reason)
            assert is_valid_gtin(result.item_code)
            seen += 1
    assert seen >= 30
