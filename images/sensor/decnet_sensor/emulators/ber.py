"""The BER/DER subset LDAP and SPNEGO need: definite lengths, one-byte tags, bounded reads."""

from __future__ import annotations

MAX_ELEMENTS = 256  # children one constructed value may have before we stop reading


class Malformed(Exception):
    """Bytes that are no BER element (or one larger than we accept)."""


def header(buf: bytes, limit: int = 1 << 20) -> tuple[int, int, int] | None:
    """(tag, header size, content length) of the element at the start of `buf`; None when the
    header itself is incomplete."""
    if len(buf) < 2:
        return None
    tag, first = buf[0], buf[1]
    if tag & 0x1F == 0x1F:
        raise Malformed("multi-byte tag")
    if first < 0x80:
        return tag, 2, first
    n = first & 0x7F
    if n == 0 or n > 4:
        raise Malformed("indefinite or huge length")
    if len(buf) < 2 + n:
        return None
    length = int.from_bytes(buf[2 : 2 + n], "big")
    if length > limit:
        raise Malformed("element too large")
    return tag, 2 + n, length


def split(buf: bytes, limit: int = 1 << 20) -> tuple[int, bytes, bytes] | None:
    """(tag, content, rest) of the first whole element of `buf`; None to wait for more."""
    h = header(buf, limit)
    if h is None:
        return None
    tag, size, length = h
    if len(buf) < size + length:
        return None
    return tag, buf[size : size + length], buf[size + length :]


def decode(buf: bytes) -> tuple[int, bytes, bytes]:
    """Like `split`, but a truncated element is Malformed (for content already complete)."""
    got = split(buf)
    if got is None:
        raise Malformed("truncated")
    return got


def children(content: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    while content:
        if len(out) >= MAX_ELEMENTS:
            raise Malformed("too many elements")
        tag, value, content = decode(content)
        out.append((tag, value))
    return out


def to_int(content: bytes) -> int:
    if not content or len(content) > 8:
        raise Malformed("bad integer")
    return int.from_bytes(content, "big", signed=True)


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def integer(n: int, tag: int = 0x02) -> bytes:
    return tlv(tag, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def octets(value: bytes | str, tag: int = 0x04) -> bytes:
    return tlv(tag, value.encode() if isinstance(value, str) else value)


def seq(*items: bytes, tag: int = 0x30) -> bytes:
    return tlv(tag, b"".join(items))


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))
