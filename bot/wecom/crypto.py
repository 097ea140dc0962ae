"""WeCom (企业微信) callback crypto: signatures and the AES-256-CBC message envelope."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CorpIdMismatch",
    "MalformedMessage",
    "SignatureError",
    "WeComCrypto",
    "WeComCryptoError",
    "parse_xml",
    "parse_xml_element",
]

# WeCom pads to 32-byte blocks (not AES's 16), so valid pad values are 1..32.
_PAD_BLOCK = 32
_RANDOM_LEN = 16
_LEN_FIELD = 4


class WeComCryptoError(Exception):
    """Base class for every callback crypto failure."""


class SignatureError(WeComCryptoError):
    """The msg_signature does not match the token, timestamp, nonce and ciphertext."""


class CorpIdMismatch(WeComCryptoError):
    """The payload was encrypted for another CorpID (receive id)."""


class MalformedMessage(WeComCryptoError):
    """The body, XML, base64, padding or inner layout is not what WeCom sends."""


class _ForbiddenDeclaration(Exception):
    """Raised from inside the parser when a DOCTYPE shows up."""


class _NoDoctypeBuilder(ET.TreeBuilder):
    """Tree builder that refuses any DOCTYPE, hence any ENTITY declaration."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        """Abort parsing as soon as a DOCTYPE starts."""
        # Entities can only be declared inside a DOCTYPE; stopping at its start keeps
        # both external entities (XXE) and entity expansion (billion laughs) out.
        raise _ForbiddenDeclaration(name)


def parse_xml_element(text: bytes | str) -> ET.Element:
    """Parse XML into an Element, refusing DOCTYPE/ENTITY declarations."""
    parser = ET.XMLParser(target=_NoDoctypeBuilder())
    try:
        parser.feed(text)
        root: ET.Element = parser.close()
    except _ForbiddenDeclaration as exc:
        raise MalformedMessage("DOCTYPE/ENTITY declarations are not accepted") from exc
    except (ET.ParseError, ValueError, TypeError) as exc:
        raise MalformedMessage(f"not well-formed XML: {exc}") from exc
    return root


def parse_xml(text: bytes | str) -> dict[str, str]:
    """Map the root's direct children to their text (flat WeCom message XML)."""
    root = parse_xml_element(text)
    return {child.tag: (child.text or "") for child in root}


def _b64decode_strict(data: str) -> bytes:
    """Decode standard base64, rejecting characters outside the alphabet."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedMessage("invalid base64") from exc


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts WeCom callback payloads for one app."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        """Derive the AES key from the 43-character EncodingAESKey; ValueError if invalid."""
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("EncodingAESKey is not valid base64") from exc
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self._token = token
        self._key = key
        self._iv = key[:16]
        self._corp_id = corp_id
        self._corp_id_bytes = corp_id.encode("utf-8")

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """Return the SHA-1 hex digest of the sorted concatenation of token and inputs."""
        parts = sorted([self._token, timestamp, nonce, encrypted])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, enc: str) -> None:
        """Raise SignatureError unless msg_signature matches, in constant time."""
        expected = self.signature(timestamp, nonce, enc)
        # compare_digest on str requires ASCII; a non-ASCII signature is simply wrong.
        given = msg_signature.lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode("ascii"), given):
            raise SignatureError("msg_signature mismatch")

    def _decrypt(self, encrypted: str) -> str:
        """Open the envelope: base64, AES-CBC, PKCS#7/32, then the random|len|msg|id layout."""
        ciphertext = _b64decode_strict(encrypted)
        if not ciphertext or len(ciphertext) % 16:
            raise MalformedMessage("ciphertext length is not a positive multiple of 16")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= _PAD_BLOCK or pad > len(padded) or padded[-pad:] != bytes([pad]) * pad:
            raise MalformedMessage("bad padding")
        plain = padded[:-pad]
        header = _RANDOM_LEN + _LEN_FIELD
        if len(plain) < header:
            raise MalformedMessage("plaintext shorter than its header")
        (msg_len,) = struct.unpack(">I", plain[_RANDOM_LEN:header])
        if header + msg_len > len(plain):
            raise MalformedMessage("declared message length exceeds the plaintext")
        message = plain[header : header + msg_len]
        receive_id = plain[header + msg_len :]
        if not hmac.compare_digest(receive_id, self._corp_id_bytes):
            raise CorpIdMismatch("payload was encrypted for another CorpID")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("message is not UTF-8") from exc

    def _encrypt(self, message: str) -> str:
        """Seal a message into the base64 envelope addressed to our CorpID."""
        body = message.encode("utf-8")
        plain = os.urandom(_RANDOM_LEN) + struct.pack(">I", len(body)) + body + self._corp_id_bytes
        pad = _PAD_BLOCK - len(plain) % _PAD_BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        ciphertext = encryptor.update(plain) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode("ascii")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Check the GET verification signature and return the decrypted echostr."""
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        return self._decrypt(echostr)

    def decrypt_message(
        self, xml_body: bytes | str, msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """Verify and decrypt a POSTed callback body, returning the inner XML."""
        encrypted = parse_xml(xml_body).get("Encrypt", "").strip()
        if not encrypted:
            raise MalformedMessage("no <Encrypt> element")
        # Signature before decryption: without the token nobody can probe our padding checks.
        self._check_signature(msg_signature, timestamp, nonce, encrypted)
        return self._decrypt(encrypted)

    def encrypt_message(self, plain_xml: str, nonce: str, timestamp: str) -> str:
        """Encrypt and sign inner XML, returning WeCom's outer reply XML."""
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise ValueError("timestamp must be decimal digits")
        if "]]>" in nonce:
            raise ValueError("nonce cannot contain ']]>'")
        encrypted = self._encrypt(plain_xml)
        signature = self.signature(timestamp, nonce, encrypted)
        return (
            "<xml>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>"
            "</xml>"
        )
