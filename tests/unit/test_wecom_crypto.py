"""Tests of bot.wecom.crypto against official vectors and wechatpy as an independent peer."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.wecom.crypto import (
    CorpIdMismatch,
    MalformedMessage,
    SignatureError,
    WeComCrypto,
    WeComCryptoError,
    parse_xml,
)

# Official vector 1: WeCom's published sample (the C#/Java WXBizMsgCrypt samples, the comments of
# the Python sample sbzhu/weworkapi_python callback/Sample.py, and the 加解密方案说明 document,
# developer.work.weixin.qq.com/document/path/90968, which also gives the decrypted message).
DOC_TOKEN = "QDG6eK"
DOC_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DOC_CORP = "wx5823bf96d3bd56c7"
DOC_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
DOC_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjv"
    "d4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw"
    "2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22"
    "Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2"
    "uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

# Official vector 2: the code of the Python sample, sbzhu/weworkapi_python callback/Sample.py.
PY_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
PY_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
PY_CORP = "ww1436e0e65a779aee"
PY_ECHOSTR = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
)
PY_BODY = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA["
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAg"
    "GzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U"
    "+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR"
    "4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aS"
    "DPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)

# Our own settings for round trips with wechatpy.
TOKEN = "qabot-token"
KEY = base64.b64encode(bytes(range(32))).decode()[:43]
CORP = "ww0123456789abcdef"
OTHER_CORP = "ww_someone_else"
TS = "1717000000"
NONCE = "n0nce42"

INNER = (
    "<xml><ToUserName><![CDATA[ww0123456789abcdef]]></ToUserName>"
    "<FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1717000000</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[绑定 ABC123 — 质量帮扶]]></Content>"
    "<MsgId>7381234567890123456</MsgId><AgentID>1000002</AgentID></xml>"
)


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto(TOKEN, KEY, CORP)


@pytest.fixture
def peer() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, KEY, CORP)


def _outer(encrypted: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )


def _seal_raw(plain: bytes) -> str:
    """Encrypt exact bytes (caller supplies any padding) with the test key, bypassing checks."""
    key = base64.b64decode(KEY + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def _pkcs7_32(data: bytes) -> bytes:
    pad = 32 - len(data) % 32
    return data + bytes([pad]) * pad


def _decrypt_signed(ours: WeComCrypto, encrypted: str) -> str:
    """Sign correctly so that only the decryption step can fail."""
    return ours.decrypt_message(_outer(encrypted), ours.signature(TS, NONCE, encrypted), TS, NONCE)


# --- official known-answer vectors -----------------------------------------------------------


def test_official_doc_url_verification() -> None:
    crypto = WeComCrypto(DOC_TOKEN, DOC_KEY, DOC_CORP)
    sig = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert crypto.signature("1409659589", "263014780", DOC_ECHOSTR) == sig
    assert crypto.verify_url(sig, "1409659589", "263014780", DOC_ECHOSTR) == "1616140317555161061"


def test_official_doc_message() -> None:
    crypto = WeComCrypto(DOC_TOKEN, DOC_KEY, DOC_CORP)
    body = (
        f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName>"
        f"<Encrypt><![CDATA[{DOC_ENCRYPT}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    )
    sig = "477715d11cdb4164915debcba66cb864d751f3e6"
    inner = crypto.decrypt_message(body, sig, "1409659813", "1372623149")
    assert parse_xml(inner) == {
        "ToUserName": DOC_CORP,
        "FromUserName": "mycreate",
        "CreateTime": "1409659813",
        "MsgType": "text",
        "Content": "hello",
        "MsgId": "4561255354251345929",
        "AgentID": "218",
    }


def test_official_python_sample_vectors() -> None:
    crypto = WeComCrypto(PY_TOKEN, PY_KEY, PY_CORP)
    echo = crypto.verify_url(
        "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", PY_ECHOSTR
    )
    assert echo == "1288432023552776189"
    inner = crypto.decrypt_message(
        PY_BODY.encode(), "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914"
    )
    assert inner == (
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
        "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
        "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
    )


def test_official_vector_for_another_corp_is_refused() -> None:
    crypto = WeComCrypto(DOC_TOKEN, DOC_KEY, "ww_not_the_sample_corp")
    with pytest.raises(CorpIdMismatch):
        crypto.verify_url(
            "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", DOC_ECHOSTR
        )


# --- round trips with wechatpy ---------------------------------------------------------------


@pytest.mark.parametrize("inner", [INNER, "<xml/>", "x" * 5000, "中" * 31])
def test_wechatpy_encrypts_we_decrypt(ours: WeComCrypto, peer: WeChatCrypto, inner: str) -> None:
    outer = peer.encrypt_message(inner, NONCE, TS)
    fields = parse_xml(outer)
    assert ours.decrypt_message(outer, fields["MsgSignature"], TS, NONCE) == inner


@pytest.mark.parametrize("inner", [INNER, "<xml/>", "x" * 5000, "中" * 31])
def test_we_encrypt_wechatpy_decrypts(ours: WeComCrypto, peer: WeChatCrypto, inner: str) -> None:
    outer = ours.encrypt_message(inner, NONCE, TS)
    fields = parse_xml(outer)
    assert set(fields) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert (fields["TimeStamp"], fields["Nonce"]) == (TS, NONCE)
    assert peer.decrypt_message(outer, fields["MsgSignature"], TS, NONCE) == inner


def test_each_encryption_uses_fresh_randomness(ours: WeComCrypto) -> None:
    assert ours.encrypt_message(INNER, NONCE, TS) != ours.encrypt_message(INNER, NONCE, TS)


def test_url_verification_wechatpy_to_us(ours: WeComCrypto) -> None:
    echostr = PrpCrypto(base64.b64decode(KEY + "=")).encrypt("8243571209513", CORP).decode()
    sig = ours.signature(TS, NONCE, echostr)
    assert ours.verify_url(sig, TS, NONCE, echostr) == "8243571209513"


def test_url_verification_us_to_wechatpy(ours: WeComCrypto, peer: WeChatCrypto) -> None:
    fields = parse_xml(ours.encrypt_message("5927638411", NONCE, TS))
    echo = peer.check_signature(fields["MsgSignature"], TS, NONCE, fields["Encrypt"])
    assert echo == "5927638411"


# --- rejections ------------------------------------------------------------------------------


def test_forged_message_signature(ours: WeComCrypto, peer: WeChatCrypto) -> None:
    outer = peer.encrypt_message(INNER, NONCE, TS)
    good = parse_xml(outer)["MsgSignature"]
    forged = ("0" if good[0] != "0" else "1") + good[1:]
    with pytest.raises(SignatureError):
        ours.decrypt_message(outer, forged, TS, NONCE)
    # Changing what was signed (here the timestamp) must fail as well.
    with pytest.raises(SignatureError):
        ours.decrypt_message(outer, good, str(int(TS) + 1), NONCE)
    with pytest.raises(SignatureError):
        ours.decrypt_message(outer, "not-hex-ünïcode", TS, NONCE)


def test_forged_url_signature(ours: WeComCrypto) -> None:
    echostr = parse_xml(ours.encrypt_message("123", NONCE, TS))["Encrypt"]
    with pytest.raises(SignatureError):
        ours.verify_url("a" * 40, TS, NONCE, echostr)


def test_message_for_another_corp(ours: WeComCrypto) -> None:
    outer = WeChatCrypto(TOKEN, KEY, OTHER_CORP).encrypt_message(INNER, NONCE, TS)
    with pytest.raises(CorpIdMismatch):
        ours.decrypt_message(outer, parse_xml(outer)["MsgSignature"], TS, NONCE)


def test_echostr_for_another_corp(ours: WeComCrypto) -> None:
    echostr = PrpCrypto(base64.b64decode(KEY + "=")).encrypt("42", OTHER_CORP).decode()
    with pytest.raises(CorpIdMismatch):
        ours.verify_url(ours.signature(TS, NONCE, echostr), TS, NONCE, echostr)


def test_corp_id_prefix_is_not_enough() -> None:
    # A receive id that merely starts with our CorpID must not pass.
    short = WeComCrypto(TOKEN, KEY, CORP[:-3])
    outer = WeChatCrypto(TOKEN, KEY, CORP).encrypt_message(INNER, NONCE, TS)
    with pytest.raises(CorpIdMismatch):
        short.decrypt_message(outer, parse_xml(outer)["MsgSignature"], TS, NONCE)


def test_truncated_ciphertext(ours: WeComCrypto, peer: WeChatCrypto) -> None:
    encrypted = parse_xml(peer.encrypt_message(INNER, NONCE, TS))["Encrypt"]
    raw = base64.b64decode(encrypted)
    for cut in (raw[:-1], raw[:-16], raw[:16], raw[:15], b""):
        with pytest.raises(MalformedMessage):
            _decrypt_signed(ours, base64.b64encode(cut).decode())
    with pytest.raises(MalformedMessage):
        _decrypt_signed(ours, encrypted[:-2])  # no longer valid base64


@pytest.mark.parametrize(
    "encrypted",
    ["not base64 at all!", "////", base64.b64encode(b"\x00" * 64).decode(), "=" * 8],
)
def test_garbage_ciphertext(ours: WeComCrypto, encrypted: str) -> None:
    with pytest.raises(MalformedMessage):
        _decrypt_signed(ours, encrypted)


def test_garbage_echostr(ours: WeComCrypto) -> None:
    echostr = base64.b64encode(b"\x07" * 48).decode()
    with pytest.raises(MalformedMessage):
        ours.verify_url(ours.signature(TS, NONCE, echostr), TS, NONCE, echostr)


def test_signature_is_checked_before_decryption(ours: WeComCrypto) -> None:
    with pytest.raises(SignatureError):
        ours.decrypt_message(_outer("garbage"), "0" * 40, TS, NONCE)


def _layout(message: bytes, declared: int | None = None) -> bytes:
    length = len(message) if declared is None else declared
    return b"R" * 16 + struct.pack(">I", length) + message + CORP.encode()


@pytest.mark.parametrize(
    "plain",
    [
        _layout(b"<xml/>") + b"\x00" * 2,  # pad byte 0 (block-aligned length checked below)
        _pkcs7_32(_layout(b"<xml/>"))[:-1] + b"\x21",  # pad value 33 > 32
        _pkcs7_32(_layout(b"<xml/>x"))[:-2] + b"\x01\x02",  # inconsistent pad bytes
    ],
)
def test_bad_padding(ours: WeComCrypto, plain: bytes) -> None:
    plain = plain + b"\x00" * (-len(plain) % 16)
    with pytest.raises(MalformedMessage):
        _decrypt_signed(ours, _seal_raw(plain))


def test_declared_length_beyond_plaintext(ours: WeComCrypto) -> None:
    with pytest.raises(MalformedMessage):
        _decrypt_signed(ours, _seal_raw(_pkcs7_32(_layout(b"<xml/>", declared=10_000))))


def test_plaintext_shorter_than_header(ours: WeComCrypto) -> None:
    with pytest.raises(MalformedMessage):
        _decrypt_signed(ours, _seal_raw(_pkcs7_32(b"short")))


def test_message_not_utf8(ours: WeComCrypto) -> None:
    with pytest.raises(MalformedMessage):
        _decrypt_signed(ours, _seal_raw(_pkcs7_32(_layout(b"<xml>\xff\xfe</xml>"))))


def test_sealed_layout_sanity(ours: WeComCrypto) -> None:
    # The raw helper is right: a well-formed layout decrypts, so the failures above are real.
    assert _decrypt_signed(ours, _seal_raw(_pkcs7_32(_layout("<xml>好</xml>".encode())))) == (
        "<xml>好</xml>"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello, not xml",
        b"<xml><Encrypt>abc</xml>",
        '{"Encrypt": "abc"}',
        b"<xml><ToUserName>x</ToUserName></xml>",  # no Encrypt
        b"<xml><Encrypt></Encrypt></xml>",  # empty Encrypt
    ],
)
def test_non_xml_or_incomplete_body(ours: WeComCrypto, body: bytes | str) -> None:
    with pytest.raises(MalformedMessage):
        ours.decrypt_message(body, "0" * 40, TS, NONCE)


DOCTYPE_BODIES = [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    "<xml><Encrypt>&b;</Encrypt></xml>",
    '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>',
    '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><Encrypt>abc</Encrypt></xml>',
    "<!DOCTYPE xml><xml><Encrypt>abc</Encrypt></xml>",
]


@pytest.mark.parametrize("body", DOCTYPE_BODIES)
def test_doctype_body_is_refused(ours: WeComCrypto, body: str) -> None:
    with pytest.raises(MalformedMessage):
        ours.decrypt_message(body, "0" * 40, TS, NONCE)
    with pytest.raises(MalformedMessage):
        parse_xml(body.encode())


def test_undeclared_entity_is_malformed() -> None:
    with pytest.raises(MalformedMessage):
        parse_xml("<xml><Content>&lol;</Content></xml>")


def test_parse_xml_flat_fields() -> None:
    text = (
        "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[<!DOCTYPE is just text here]]>"
        "</Content><Empty/><Amp>a &amp; b</Amp></xml>"
    )
    assert parse_xml(text) == {
        "MsgType": "text",
        "Content": "<!DOCTYPE is just text here",
        "Empty": "",
        "Amp": "a & b",
    }


def test_exception_hierarchy() -> None:
    for cls in (SignatureError, CorpIdMismatch, MalformedMessage):
        assert issubclass(cls, WeComCryptoError)


@pytest.mark.parametrize("bad_key", ["short", KEY + "A", KEY[:-1] + "!"])
def test_bad_encoding_aes_key(bad_key: str) -> None:
    with pytest.raises(ValueError):
        WeComCrypto(TOKEN, bad_key, CORP)


def test_encrypt_message_rejects_unsafe_fields(ours: WeComCrypto) -> None:
    with pytest.raises(ValueError):
        ours.encrypt_message(INNER, "a]]>b", TS)
    with pytest.raises(ValueError):
        ours.encrypt_message(INNER, NONCE, "12<34")
