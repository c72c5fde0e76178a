"""SMB2/3 (445, and 139 behind a NetBIOS session) answering like a Windows Server with SMB1
turned off: NTLMSSP authentication captured (user, domain, the NetNTLMv1/v2 response in hashcat
form) and refused — or, with `guest=true`, accepted as guest; anonymous (null) sessions are
accepted. Tree connects are requests; IPC$ serves srvsvc far enough to list the shares
(ADMIN$, C$, IPC$ and the configured one); files are never served."""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass

from twisted.application.service import Service

from . import ntlm, srvsvc
from ._common import BinaryProtocol, factory_for, flag, tcp_services, text
from .base import EmulatorContext

SERVICE = "smb"

MAX_FRAME = 1 << 17
(
    NEGOTIATE,
    SESSION_SETUP,
    LOGOFF,
    TREE_CONNECT,
    TREE_DISCONNECT,
    CREATE,
    CLOSE,
    FLUSH,
    READ,
    WRITE,
    LOCK,
    IOCTL,
    CANCEL,
    ECHO,
) = range(14)
SUCCESS, MORE_PROCESSING, LOGON_FAILURE = 0, 0xC0000016, 0xC000006D
ACCESS_DENIED, BAD_NETWORK_NAME, NOT_SUPPORTED = 0xC0000022, 0xC00000CC, 0xC00000BB
SESSION_DELETED, NAME_NOT_FOUND, FILE_CLOSED = 0xC0000203, 0xC0000034, 0xC0000128
NOT_FOUND, INVALID_PARAMETER, END_OF_FILE = 0xC0000225, 0xC000000D, 0xC0000011
DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
FSCTL_PIPE_TRANSCEIVE = 0x0011C017
MAX_SIZE = 8 * 1024 * 1024
HASH_CAP = 4096  # what the controller's attack.login keeps of a hash (decnet/events.py)
_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")


class Malformed(Exception):
    """Bytes no SMB client sends."""


@dataclass(frozen=True)
class Header:
    command: int
    credit_charge: int
    credits: int
    flags: int
    next_command: int
    message_id: int
    pid: int
    tree_id: int
    session_id: int


def split_frame(buf: bytes) -> tuple[int, bytes, bytes] | None:
    """(NetBIOS/direct-TCP type, payload, rest) of the first whole frame; None to wait."""
    if len(buf) < 4:
        return None
    size = int.from_bytes(buf[1:4], "big")
    if size > MAX_FRAME:
        raise Malformed("frame too large")
    if len(buf) < 4 + size:
        return None
    return buf[0], buf[4 : 4 + size], buf[4 + size :]


def frame(payload: bytes) -> bytes:
    return b"\0" + len(payload).to_bytes(3, "big") + payload


def parse_header(msg: bytes) -> Header:
    if len(msg) < 64 or msg[:4] != b"\xfeSMB":
        raise Malformed("no SMB2 header")
    _, size, charge, _, cmd, credits, flags, nxt, mid, pid, tid, sid, _ = _HEADER.unpack(msg[:64])
    if size != 64 or flags & 0x2:  # async requests are not something a client sends first
        raise Malformed("bad SMB2 header")
    return Header(cmd, charge, credits, flags, nxt, mid, pid, tid, sid)


def response_header(h: Header, status: int, session_id: int, tree_id: int) -> bytes:
    credits = max(1, min(h.credits, 32))
    return _HEADER.pack(
        b"\xfeSMB",
        64,
        h.credit_charge,
        status,
        h.command,
        credits,
        0x1,
        0,
        h.message_id,
        h.pid,
        tree_id,
        session_id,
        b"\0" * 16,
    )


def smb1_dialects(msg: bytes) -> list[str]:
    """The dialect names of an SMB1 NEGOTIATE (empty for any other SMB1 message)."""
    if len(msg) < 35 or msg[:4] != b"\xffSMB" or msg[4] != 0x72:
        return []
    words = msg[32]
    data = msg[33 + 2 * words + 2 :]
    return [text(d.split(b"\0", 1)[0], 32) for d in data.split(b"\x02")[1:33]]


def smb2_dialects(msg: bytes) -> list[int]:
    if len(msg) < 64 + 36:
        raise Malformed("short NEGOTIATE")
    count = int(struct.unpack("<H", msg[66:68])[0])
    raw = msg[100 : 100 + 2 * min(count, 64)]
    return [int(d) for (d,) in struct.iter_unpack("<H", raw[: len(raw) // 2 * 2])]


def choose_dialect(offered: list[int]) -> int | None:
    common = [d for d in DIALECTS if d in offered]
    return max(common) if common else None


def blob_at(msg: bytes, at: int, length_at: int, wide: str = "") -> bytes:
    """A (offset, length) buffer of a request, offsets counted from the SMB2 header; `wide`
    names which of "offset"/"length" are 4-byte fields (else 2)."""
    off_fmt = "<I" if "offset" in wide else "<H"
    len_fmt = "<I" if "length" in wide else "<H"
    if len(msg) < max(at, length_at) + 4:
        raise Malformed("short request")
    (offset,) = struct.unpack(off_fmt, msg[at : at + struct.calcsize(off_fmt)])
    (length,) = struct.unpack(len_fmt, msg[length_at : length_at + struct.calcsize(len_fmt)])
    if offset + length > len(msg):
        raise Malformed("buffer beyond the message")
    return msg[offset : offset + length]


def utf16(raw: bytes) -> str:
    return text(raw[: len(raw) // 2 * 2].decode("utf-16-le", "replace"))


def negotiate_body(dialect: int, server_guid: bytes, now: int) -> bytes:
    blob = ntlm.spnego_init()
    caps = 0x1 if dialect == 0x0202 else 0x7  # DFS; + leasing, large MTU from SMB 2.1 on
    contexts, count, ctx_off = b"", 0, 0
    if dialect == 0x0311:
        data = struct.pack("<HHH", 1, 32, 1) + secrets.token_bytes(32)  # SHA-512 preauth salt
        contexts, count = struct.pack("<HHI", 1, len(data), 0) + data, 1
        ctx_off = 128 + len(blob) + (-(128 + len(blob)) % 8)
    body = (
        struct.pack(
            "<HHHH16sIIIIQQHHI",
            65,
            0x1,
            dialect,
            count,
            server_guid,
            caps,
            MAX_SIZE,
            MAX_SIZE,
            MAX_SIZE,
            now,
            0,
            128,
            len(blob),
            ctx_off,
        )
        + blob
    )
    if contexts:
        body += b"\0" * (ctx_off - 64 - len(body)) + contexts
    return body


def error_body() -> bytes:
    return struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"


def share_names(share: str) -> list[tuple[str, int, str]]:
    return [
        ("ADMIN$", srvsvc.STYPE_SPECIAL, "Remote Admin"),
        ("C$", srvsvc.STYPE_SPECIAL, "Default share"),
        ("IPC$", srvsvc.STYPE_SPECIAL | srvsvc.STYPE_IPC, "Remote IPC"),
        (share, srvsvc.STYPE_DISKTREE, ""),
    ]


class SMB(BinaryProtocol):
    MAX_BUFFER = MAX_FRAME + 8

    def connectionMade(self) -> None:
        super().connectionMade()
        cfg = self.ctx.config
        self.workgroup = cfg.get("workgroup", "CORP") or "CORP"
        self.share = cfg.get("share", "public") or "public"
        self.guest = flag(cfg, "guest", False)
        self.guid = hashlib.sha256(f"smb/{self.ctx.hostname}".encode()).digest()[:16]
        self.session_id = 0
        self.challenge = b""
        self.auth: str | None = None  # "null" | "guest" once a session is set up
        self.trees: dict[int, str] = {}
        self.pipes: dict[bytes, bytes] = {}  # open srvsvc handles -> answer waiting to be read
        self.dialect = 0
        self.last_tree = 0

    def consume(self) -> None:
        try:
            while not self.closing():
                got = split_frame(self.buffer)
                if got is None:
                    return
                kind, payload, self.buffer = got
                if not self.count_command():
                    return
                self.frame(kind, payload)
        except (Malformed, ntlm.Malformed, srvsvc.Malformed, struct.error):
            self.transport.loseConnection()

    def frame(self, kind: int, payload: bytes) -> None:
        if kind == 0x81:  # NetBIOS session request (port 139): positive response
            self.transport.write(b"\x82\0\0\0")
        elif kind == 0x85:  # keep-alive
            pass
        elif kind != 0:
            raise Malformed("unknown NetBIOS frame")
        elif payload[:4] == b"\xffSMB":
            self.smb1(payload)
        elif payload[:4] == b"\xfeSMB":
            self.smb2(payload)
        else:
            raise Malformed("not SMB")

    def smb1(self, payload: bytes) -> None:
        dialects = smb1_dialects(payload)
        self.events.request("NEGOTIATE", "", detail={"smb1": dialects})
        if not any(d.startswith("SMB 2.") for d in dialects):
            self.transport.loseConnection()  # SMB1 is off, as on any current Windows
            return
        wildcard = 0x02FF if "SMB 2.???" in dialects else 0x0202
        h = Header(NEGOTIATE, 0, 1, 0, 0, 0, 0, 0, 0)
        body = negotiate_body(wildcard, self.guid, ntlm.filetime())
        self.transport.write(frame(response_header(h, SUCCESS, 0, 0) + body))

    def smb2(self, payload: bytes) -> None:
        """One message or a compound chain: each answered, the answers chained the same way."""
        answers: list[bytes] = []
        offset = 0
        while len(answers) < 16:
            msg = payload[offset:]
            h = parse_header(msg)
            end = h.next_command or len(msg)
            if end < 64 or end > len(msg):
                raise Malformed("bad compound offset")
            answers.append(self.command(h, msg[:end]))
            if not h.next_command:
                break
            offset += h.next_command
        out = b""
        for i, answer in enumerate(answers):
            if i < len(answers) - 1:
                answer += b"\0" * (-len(answer) % 8)
                answer = answer[:20] + struct.pack("<I", len(answer)) + answer[24:]
            out += answer
        self.transport.write(frame(out))

    def command(self, h: Header, msg: bytes) -> bytes:
        if h.command == NEGOTIATE:
            status, body = self.negotiate(msg)
        elif h.command == SESSION_SETUP:
            status, body = self.session_setup(msg)
        elif self.auth is None or h.session_id != self.session_id:
            status, body = SESSION_DELETED, error_body()
        else:
            handler = {
                LOGOFF: self.logoff,
                TREE_CONNECT: self.tree_connect,
                TREE_DISCONNECT: self.tree_disconnect,
                CREATE: self.create,
                CLOSE: self.close,
                READ: self.read,
                WRITE: self.write,
                IOCTL: self.ioctl,
                ECHO: self.echo,
            }.get(h.command)
            status, body = handler(h, msg) if handler else (NOT_SUPPORTED, error_body())
        tree = self.last_tree if h.command == TREE_CONNECT and status == SUCCESS else h.tree_id
        session = self.session_id if h.command != NEGOTIATE else 0
        return response_header(h, status, session, tree) + body

    # -- negotiate and authentication --------------------------------------------------
    def negotiate(self, msg: bytes) -> tuple[int, bytes]:
        offered = smb2_dialects(msg)
        self.events.request("NEGOTIATE", "", detail={"dialects": [f"{d:04x}" for d in offered]})
        dialect = choose_dialect(offered)
        if dialect is None:
            return NOT_SUPPORTED, error_body()
        self.dialect = dialect
        return SUCCESS, negotiate_body(dialect, self.guid, ntlm.filetime())

    def session_setup(self, msg: bytes) -> tuple[int, bytes]:
        blob = blob_at(msg, 64 + 12, 64 + 14)
        token = ntlm.find(blob)
        spnego = not blob.startswith(ntlm.SIGNATURE)
        if token is None:  # e.g. a Kerberos ticket first: point the client at NTLMSSP
            return MORE_PROCESSING, self.setup_body(0, ntlm.spnego_response(1, with_mech=True))
        kind = ntlm.message_type(token)
        if kind == 1:
            self.session_id = self.session_id or (secrets.randbits(63) | 1)
            self.challenge = secrets.token_bytes(8)
            computer = self.ctx.hostname.split(".")[0][:15] or "SERVER"
            dns_domain = f"{self.workgroup.lower()}.local"
            reply = ntlm.challenge(
                self.challenge, self.workgroup, computer, dns_domain, ntlm.client_flags(token)
            )
            wrapped = ntlm.spnego_response(1, reply, with_mech=True) if spnego else reply
            return MORE_PROCESSING, self.setup_body(0, wrapped)
        if kind != 3 or not self.challenge:
            return LOGON_FAILURE, error_body()
        auth = ntlm.parse_authenticate(token)
        if auth.anonymous:
            self.events.login("", None, "success", mechanism="anonymous")
            self.auth = "null"
            return SUCCESS, self.setup_body(0x2, ntlm.spnego_response(0) if spnego else b"")
        outcome = "success" if self.guest else "failure"
        line = auth.hashcat(self.challenge)
        crackable = {"hash": line} if len(line) <= HASH_CAP else {}  # a cut hash is worthless
        self.events.login(
            auth.user, None, outcome, domain=auth.domain, mechanism=auth.version, **crackable
        )
        if not self.guest:
            self.challenge = b""
            return LOGON_FAILURE, error_body()
        self.auth = "guest"
        return SUCCESS, self.setup_body(0x1, ntlm.spnego_response(0) if spnego else b"")

    def setup_body(self, session_flags: int, blob: bytes) -> bytes:
        return struct.pack("<HHHH", 9, session_flags, 72, len(blob)) + blob

    def logoff(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        self.auth, self.trees = None, {}
        return SUCCESS, struct.pack("<HH", 4, 0)

    def echo(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        return SUCCESS, struct.pack("<HH", 4, 0)

    # -- trees and the srvsvc pipe -----------------------------------------------------
    def tree_connect(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        path = utf16(blob_at(msg, 64 + 4, 64 + 6))
        share = path.rsplit("\\", 1)[-1]
        self.events.request("TREE_CONNECT", path, detail={"share": share})
        if share.upper() == "IPC$":
            kind, access = 0x02, 0x001F01FF
        elif share.lower() == self.share.lower() and self.auth == "guest":
            kind, access = 0x01, 0x001200A9
        elif share.upper() in ("ADMIN$", "C$") or share.lower() == self.share.lower():
            return ACCESS_DENIED, error_body()
        else:
            return BAD_NETWORK_NAME, error_body()
        if len(self.trees) >= 16:
            return ACCESS_DENIED, error_body()
        self.last_tree = len(self.trees) + 1
        self.trees[self.last_tree] = share
        return SUCCESS, struct.pack("<HBBIII", 16, kind, 0, 0, 0, access)

    def tree_disconnect(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        self.trees.pop(h.tree_id, None)
        return SUCCESS, struct.pack("<HH", 4, 0)

    def create(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        share = self.trees.get(h.tree_id)
        if share is None:
            return NAME_NOT_FOUND, error_body()
        name = utf16(blob_at(msg, 64 + 44, 64 + 46))
        self.events.request("CREATE", f"\\\\{share}\\{name}")
        if share.upper() != "IPC$":
            return ACCESS_DENIED, error_body()
        if name.lower() != "srvsvc" or len(self.pipes) >= 8:
            return NAME_NOT_FOUND, error_body()
        fid = secrets.token_bytes(16)
        self.pipes[fid] = b""
        times = ntlm.filetime()
        return SUCCESS, struct.pack(
            "<HBBIQQQQQQII16sII",
            89,
            0,
            0,
            1,
            times,
            times,
            times,
            times,
            4096,
            0,
            0x80,
            0,
            fid,
            0,
            0,
        ) + b"\0"

    def close(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        fid = msg[64 + 8 : 64 + 24]
        if self.pipes.pop(fid, None) is None:
            return FILE_CLOSED, error_body()
        return SUCCESS, struct.pack("<HHI", 60, 0, 0) + b"\0" * 52

    def write(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        data = blob_at(msg, 64 + 2, 64 + 4, wide="length")
        fid = msg[64 + 16 : 64 + 32]
        if fid not in self.pipes:
            return FILE_CLOSED, error_body()
        self.pipes[fid] = self.rpc(data)
        return SUCCESS, struct.pack("<HHIIHH", 17, 0, len(data), 0, 0, 0)

    def read(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        if len(msg) < 64 + 32:
            raise Malformed("short READ")
        (length,) = struct.unpack("<I", msg[64 + 4 : 64 + 8])
        fid = msg[64 + 16 : 64 + 32]
        if fid not in self.pipes:
            return FILE_CLOSED, error_body()
        data, self.pipes[fid] = self.pipes[fid][:length], self.pipes[fid][length:]
        if not data:
            return END_OF_FILE, error_body()
        return SUCCESS, struct.pack("<HBxIII", 17, 80, len(data), 0, 0) + data

    def ioctl(self, h: Header, msg: bytes) -> tuple[int, bytes]:
        if len(msg) < 64 + 56:
            raise Malformed("short IOCTL")
        (code,) = struct.unpack("<I", msg[64 + 4 : 64 + 8])
        fid = msg[64 + 8 : 64 + 24]
        if code != FSCTL_PIPE_TRANSCEIVE:
            self.events.request("IOCTL", "", detail={"code": f"{code:08x}"})
            return (NOT_FOUND if code == 0x00060194 else NOT_SUPPORTED), error_body()
        if fid not in self.pipes:
            return FILE_CLOSED, error_body()
        out = self.rpc(blob_at(msg, 64 + 24, 64 + 28, wide="offset length"))
        return SUCCESS, struct.pack(
            "<HHI16sIIIIII", 49, 0, code, fid, 112, 0, 112, len(out), 0, 0
        ) + out

    def rpc(self, pdu: bytes) -> bytes:
        """One DCE/RPC PDU written to srvsvc, and the answer it gets."""
        ptype, call_id, body = srvsvc.parse_header(pdu)
        if ptype == srvsvc.BIND:
            ack, _ = srvsvc.bind_ack(call_id, body)
            return ack
        if ptype == srvsvc.REQUEST:
            answer, opnum = srvsvc.request(call_id, body, share_names(self.share))
            method = "SHARE_ENUM" if opnum == 15 else f"RPC_{opnum}"
            self.events.request(method, "srvsvc")
            return answer
        raise srvsvc.Malformed("unexpected PDU")


def build(ctx: EmulatorContext) -> list[Service]:
    return tcp_services(ctx, factory_for(ctx, SMB))
