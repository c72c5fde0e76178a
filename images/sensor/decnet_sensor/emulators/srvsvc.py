"""The srvsvc named pipe as far as a share listing needs (`smbclient -L`, impacket's
listShares): DCE/RPC bind and NetrShareEnum (opnum 15, level 1) in NDR. Pure functions."""

from __future__ import annotations

import struct
import uuid

BIND, BIND_ACK, REQUEST, RESPONSE, FAULT = 11, 12, 0, 2, 3
NDR = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le + struct.pack("<I", 2)
SRVSVC = uuid.UUID("4b324fc8-1670-01d3-1278-5a47bf6ee188").bytes_le
OP_RANGE_ERROR = 0x1C010002
STYPE_DISKTREE, STYPE_IPC, STYPE_SPECIAL = 0, 3, 0x80000000


class Malformed(Exception):
    """Not a DCE/RPC PDU we read."""


def header(ptype: int, call_id: int, body: bytes) -> bytes:
    return (
        struct.pack("<BBBB4sHHI", 5, 0, ptype, 0x03, b"\x10\0\0\0", 16 + len(body), 0, call_id)
        + body
    )


def parse_header(pdu: bytes) -> tuple[int, int, bytes]:
    """(ptype, call_id, body) of one little-endian DCE/RPC PDU."""
    if len(pdu) < 16 or pdu[0] != 5 or pdu[4] != 0x10:
        raise Malformed("not DCE/RPC v5 little-endian")
    frag_len, auth_len, call_id = struct.unpack("<HHI", pdu[8:16])
    if frag_len > len(pdu) or frag_len < 16 + auth_len:
        raise Malformed("bad fragment length")
    return pdu[2], call_id, pdu[16 : frag_len - auth_len]


def bind_ack(call_id: int, body: bytes) -> tuple[bytes, bool]:
    """(bind_ack PDU, whether srvsvc was asked for): NDR accepted, other syntaxes refused."""
    if len(body) < 12:
        raise Malformed("short bind")
    max_xmit, max_recv, _ = struct.unpack("<HHI", body[:8])
    count = body[8]
    results, srvsvc, pos = b"", False, 12
    for _ in range(min(count, 16)):
        if len(body) < pos + 24:
            raise Malformed("short context")
        n_syntaxes = body[pos + 2]
        abstract = body[pos + 4 : pos + 20]
        syntaxes = [body[pos + 24 + 20 * i : pos + 44 + 20 * i] for i in range(n_syntaxes)]
        pos += 24 + 20 * n_syntaxes
        if NDR in syntaxes:
            srvsvc |= abstract == SRVSVC
            results += struct.pack("<HH", 0, 0) + NDR
        else:
            results += struct.pack("<HH", 2, 2) + b"\0" * 20  # transfer syntax not supported
    port = b"\\PIPE\\srvsvc\0"
    sec = struct.pack("<H", len(port)) + port
    sec += b"\0" * (-(8 + len(sec)) % 4)
    ack = struct.pack("<HHI", max_xmit, max_recv, 0x1234) + sec
    ack += struct.pack("<B3x", len(results) // 24) + results
    return header(BIND_ACK, call_id, ack), srvsvc


def _ndr_string(value: str) -> bytes:
    data = (value + "\0").encode("utf-16-le")
    count = len(data) // 2
    out = struct.pack("<III", count, 0, count) + data
    return out + b"\0" * (-len(out) % 4)


def share_enum(shares: list[tuple[str, int, str]]) -> bytes:
    """The NDR stub of a NetrShareEnum level-1 answer listing `shares` (name, type, remark)."""
    n = len(shares)
    out = struct.pack("<III", 1, 1, 0x20000)  # level 1, union arm 1, container pointer
    out += struct.pack("<II", n, 0x20004)  # entries read, array pointer
    out += struct.pack("<I", n)  # conformant array size
    ref = 0x20008
    for _, kind, _ in shares:
        out += struct.pack("<III", ref, kind, ref + 4)  # name pointer, type, remark pointer
        ref += 8
    for name, _, remark in shares:
        out += _ndr_string(name) + _ndr_string(remark)
    out += struct.pack("<I", n)  # total entries
    out += struct.pack("<II", ref, 0)  # resume handle pointer and value
    return out + struct.pack("<I", 0)  # WERR_OK


def request(call_id: int, body: bytes, shares: list[tuple[str, int, str]]) -> tuple[bytes, int]:
    """(response or fault PDU, opnum) for one srvsvc request."""
    if len(body) < 8:
        raise Malformed("short request")
    ctx_id, opnum = struct.unpack("<HH", body[4:8])
    if opnum != 15:
        return header(FAULT, call_id, struct.pack("<IHBxI4x", 0, ctx_id, 0, OP_RANGE_ERROR)), opnum
    stub = share_enum(shares)
    return header(RESPONSE, call_id, struct.pack("<IHBx", len(stub), ctx_id, 0) + stub), opnum
