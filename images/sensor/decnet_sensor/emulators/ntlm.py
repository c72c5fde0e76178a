"""NTLMSSP as a server sees it (MS-NLMP): the CHALLENGE we send, the AUTHENTICATE we read,
and its response as hashcat takes it (NetNTLMv2: mode 5600, NetNTLMv1: mode 5500); plus the
SPNEGO (RFC 4178) wrappings SMB carries them in. Pure functions on bytes."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from . import ber

SIGNATURE = b"NTLMSSP\0"
NTLMSSP_OID = "1.3.6.1.4.1.311.2.2.10"
SPNEGO_OID = "1.3.6.1.5.5.2"
UNICODE = 0x00000001
SEAL = 0x00000020
# What Windows Server answers: 56, key exchange, 128, version, target info, extended session
# security, target type server, always sign, NTLM, sign, request target, unicode.
CHALLENGE_FLAGS = 0xE28A8215
WINDOWS_VERSION = struct.pack("<BBHxxxB", 10, 0, 17763, 0x0F)  # Windows Server 2019
AV_EOL, AV_NB_COMPUTER, AV_NB_DOMAIN, AV_DNS_COMPUTER, AV_DNS_DOMAIN, AV_TIMESTAMP = (
    0,
    1,
    2,
    3,
    4,
    7,
)


class Malformed(Exception):
    """Not an NTLMSSP message we can read."""


@dataclass(frozen=True)
class Authenticate:
    user: str
    domain: str
    workstation: str
    lm: bytes
    nt: bytes

    @property
    def anonymous(self) -> bool:
        return not self.user and len(self.nt) == 0 and self.lm in (b"", b"\0")

    @property
    def version(self) -> str:
        return "NTLMv2" if len(self.nt) > 24 else "NTLMv1"

    def hashcat(self, challenge: bytes) -> str:
        """The response in the form hashcat (and John) crack: mode 5600 or 5500."""
        if len(self.nt) > 24:
            proof, blob = self.nt[:16], self.nt[16:]
            return f"{self.user}::{self.domain}:{challenge.hex()}:{proof.hex()}:{blob.hex()}"
        return f"{self.user}::{self.domain}:{self.lm.hex()}:{self.nt.hex()}:{challenge.hex()}"


def filetime(now: float | None = None) -> int:
    """Windows FILETIME: 100 ns ticks since 1601-01-01."""
    return int(((time.time() if now is None else now) + 11644473600) * 10_000_000)


def find(blob: bytes) -> bytes | None:
    """The NTLMSSP message inside a security blob (raw, or wrapped in SPNEGO)."""
    i = blob.find(SIGNATURE)
    return blob[i:] if i >= 0 else None


def message_type(msg: bytes) -> int:
    if len(msg) < 12 or not msg.startswith(SIGNATURE):
        raise Malformed("no NTLMSSP header")
    return int(struct.unpack("<I", msg[8:12])[0])


def _field(msg: bytes, at: int) -> bytes:
    if len(msg) < at + 8:
        raise Malformed("short message")
    length, _, offset = struct.unpack("<HHI", msg[at : at + 8])
    if offset + length > len(msg):
        raise Malformed("field beyond the message")
    return msg[offset : offset + length]


def _string(raw: bytes, unicode: bool) -> str:
    return raw.decode("utf-16-le" if unicode else "latin-1", "replace")[:256]


def parse_authenticate(msg: bytes) -> Authenticate:
    if message_type(msg) != 3 or len(msg) < 64:
        raise Malformed("not an AUTHENTICATE")
    flags = int(struct.unpack("<I", msg[60:64])[0])
    unicode = bool(flags & UNICODE)
    return Authenticate(
        user=_string(_field(msg, 36), unicode),
        domain=_string(_field(msg, 28), unicode),
        workstation=_string(_field(msg, 44), unicode),
        lm=_field(msg, 12)[:24],
        nt=_field(msg, 20)[:4096],
    )


def av_pairs(pairs: list[tuple[int, bytes]]) -> bytes:
    out = b"".join(struct.pack("<HH", k, len(v)) + v for k, v in pairs)
    return out + struct.pack("<HH", AV_EOL, 0)


def challenge(
    server_challenge: bytes, domain: str, computer: str, dns_domain: str, client_flags: int = 0
) -> bytes:
    """The CHALLENGE message (type 2) a Windows server in `domain` named `computer` sends."""
    target = domain.upper().encode("utf-16-le")
    info = av_pairs(
        [
            (AV_NB_DOMAIN, domain.upper().encode("utf-16-le")),
            (AV_NB_COMPUTER, computer.upper().encode("utf-16-le")),
            (AV_DNS_DOMAIN, dns_domain.encode("utf-16-le")),
            (AV_DNS_COMPUTER, f"{computer.lower()}.{dns_domain}".encode("utf-16-le")),
            (AV_TIMESTAMP, struct.pack("<Q", filetime())),
        ]
    )
    flags = CHALLENGE_FLAGS | (client_flags & SEAL)
    head = 56
    return (
        SIGNATURE
        + struct.pack("<I", 2)
        + struct.pack("<HHI", len(target), len(target), head)
        + struct.pack("<I", flags)
        + server_challenge
        + b"\0" * 8
        + struct.pack("<HHI", len(info), len(info), head + len(target))
        + WINDOWS_VERSION
        + target
        + info
    )


def client_flags(msg: bytes) -> int:
    return int(struct.unpack("<I", msg[12:16])[0]) if len(msg) >= 16 else 0


def spnego_init() -> bytes:
    """The NegTokenInit an SMB2 NEGOTIATE response offers: NTLMSSP as the one mechanism."""
    mechs = ber.seq(ber.seq(ber.oid(NTLMSSP_OID)), tag=0xA0)
    return ber.tlv(0x60, ber.oid(SPNEGO_OID) + ber.seq(ber.seq(mechs), tag=0xA0))


def spnego_response(state: int, token: bytes = b"", with_mech: bool = False) -> bytes:
    """NegTokenResp: state 0 accept-completed, 1 accept-incomplete, 2 reject."""
    items = [ber.seq(ber.integer(state, 0x0A), tag=0xA0)]
    if with_mech:
        items.append(ber.seq(ber.oid(NTLMSSP_OID), tag=0xA1))
    if token:
        items.append(ber.seq(ber.octets(token), tag=0xA2))
    return ber.seq(ber.seq(*items), tag=0xA1)
