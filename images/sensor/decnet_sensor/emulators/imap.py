"""IMAP4rev1 (143 with STARTTLS; 993 with TLS) answering like Dovecot before login: LOGIN and
AUTHENTICATE PLAIN/LOGIN are recorded and refused; every other command is a request."""

from __future__ import annotations

import re

from twisted.application.service import Service

from ._common import LineProtocol, Sasl, factory_for, tcp_services, text
from .base import EmulatorContext

SERVICE = "imap"

CAPABILITIES = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN"
AFTER_LOGIN = {
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "STATUS",
    "APPEND",
    "CHECK",
    "CLOSE",
    "EXPUNGE",
    "SEARCH",
    "FETCH",
    "STORE",
    "COPY",
    "UID",
    "IDLE",
    "ENABLE",
    "NAMESPACE",
}
MAX_LITERAL = 8192
_LITERAL = re.compile(rb"\{(\d{1,10})(\+?)\}$")
_TAG = re.compile(rb"^[\x21-\x7e]{1,64}$")


def capabilities(secure: bool) -> str:
    return CAPABILITIES if secure else f"{CAPABILITIES} STARTTLS"


def greeting(banner: str, secure: bool) -> str:
    """The banner as an untagged OK with the capabilities Dovecot puts in its greeting."""
    banner = banner.strip() or "* OK Dovecot ready."
    rest = banner[4:].strip() if banner.startswith("* OK") else banner
    return f"* OK [CAPABILITY {capabilities(secure)}] {rest}"


def literal_size(line: bytes) -> tuple[int, bool] | None:
    """(size, non-synchronising) when `line` ends with a literal `{n}` / `{n+}`."""
    m = _LITERAL.search(line)
    return (int(m.group(1)), bool(m.group(2))) if m else None


def parse_args(data: bytes) -> list[bytes]:
    """IMAP arguments: atoms, "quoted" strings (with \\ escapes) and already inlined
    literals (wrapped as \\0-prefixed chunks by the protocol); parentheses stay in atoms."""
    out: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        c = data[i : i + 1]
        if c == b" ":
            i += 1
        elif c == b'"':
            buf = bytearray()
            i += 1
            while i < n and data[i : i + 1] != b'"':
                if data[i : i + 1] == b"\\" and i + 1 < n:
                    i += 1
                buf += data[i : i + 1]
                i += 1
            out.append(bytes(buf))
            i += 1
        elif c == b"\0":  # an inlined literal: \0 LENGTH \0 BYTES
            end = data.find(b"\0", i + 1)
            size = int(data[i + 1 : end]) if end > 0 and data[i + 1 : end].isdigit() else 0
            out.append(data[end + 1 : end + 1 + size] if end > 0 else b"")
            i = (end + 1 + size) if end > 0 else n
        else:
            end = data.find(b" ", i)
            end = n if end < 0 else end
            out.append(data[i:end])
            i = end
    return out


class IMAP(LineProtocol):
    def greet(self) -> None:
        self.partial = b""  # a command line whose literals are still being read
        self.literal_left = 0
        self.literal = bytearray()
        self.sasl: tuple[bytes, Sasl] | None = None  # (tag, exchange) of an AUTHENTICATE
        self.send(greeting(self.ctx.config.get("banner", ""), self.secure()))

    # -- framing: lines, and literals inside them --------------------------------
    def handle(self, line: bytes) -> None:
        if self.sasl is not None:
            self.sasl_step(line)
            return
        lit = literal_size(line)
        if lit is None:
            whole, self.partial = self.partial + line, b""
            self.command(whole)
            return
        size, plus = lit
        if size > MAX_LITERAL or len(self.partial) > MAX_LITERAL:
            self.partial = b""
            self.send("* BAD Literal too large")
            self.transport.loseConnection()
            return
        self.partial += line[: -len(_LITERAL.search(line).group(0))]  # type: ignore[union-attr]
        self.literal_left, self.literal = size, bytearray()
        if not plus:
            self.send("+ OK")
        self.setRawMode()
        if size == 0:
            self.rawDataReceived(b"")

    def rawDataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        take = data[: self.literal_left]
        self.literal += take
        self.literal_left -= len(take)
        if self.literal_left == 0:
            self.partial += b"\0%d\0" % len(self.literal) + bytes(self.literal)
            self.setLineMode(data[len(take) :])

    # -- commands ----------------------------------------------------------------
    def command(self, line: bytes) -> None:
        tag, _, rest = line.strip().partition(b" ")
        verb, _, args_b = rest.partition(b" ")
        cmd = verb.decode("ascii", "replace").upper()
        if not _TAG.match(tag) or not cmd:
            self.send("* BAD Error in IMAP command received by server.")
            return
        t = tag.decode("ascii")
        args = parse_args(args_b)
        handler = getattr(self, f"do_{cmd}", None) if cmd.isalpha() else None
        if cmd not in ("LOGIN", "AUTHENTICATE"):
            path = args[0] if args and cmd in ("SELECT", "EXAMINE", "STATUS", "LIST") else b""
            self.events.request(cmd[:32], path, query=text(rest.replace(b"\0", b" ")))
        if cmd in AFTER_LOGIN:
            self.send(f"{t} NO [ALERT] Please login first.")
        elif handler is None:
            self.send(f"{t} BAD Error in IMAP command {text(cmd, 32)}: Unknown command.")
        else:
            handler(t, args)

    def do_CAPABILITY(self, tag: str, args: list[bytes]) -> None:
        self.send(
            f"* CAPABILITY {capabilities(self.secure())}",
            f"{tag} OK Pre-login capabilities listed, post-login capabilities have more.",
        )

    def do_NOOP(self, tag: str, args: list[bytes]) -> None:
        self.send(f"{tag} OK NOOP completed.")

    def do_ID(self, tag: str, args: list[bytes]) -> None:
        self.send('* ID ("name" "Dovecot")', f"{tag} OK ID completed.")

    def do_LOGIN(self, tag: str, args: list[bytes]) -> None:
        if len(args) != 2:
            self.send(f"{tag} BAD Error in IMAP command LOGIN: Invalid arguments.")
            return
        self.fail(tag, args[0], args[1], "LOGIN")

    def do_AUTHENTICATE(self, tag: str, args: list[bytes]) -> None:
        name = args[0].decode("ascii", "replace").upper() if args else ""
        if name not in Sasl.MECHANISMS:
            self.send(f"{tag} NO Unsupported authentication mechanism.")
            return
        self.sasl = (tag.encode(), Sasl(name))
        if len(args) > 1:  # SASL-IR: the first response on the command line
            self.sasl_step(args[1])
        else:
            self.send(f"+ {self.sasl[1].first_challenge()}")

    def sasl_step(self, line: bytes) -> None:
        assert self.sasl is not None
        (tag_b, sasl), self.sasl = self.sasl, None
        tag = tag_b.decode("ascii")
        answer = sasl.feed(line)
        if answer == "abort":
            self.send(f"{tag} BAD Authentication aborted by client.")
        elif answer == "bad":
            self.send(f"{tag} BAD Invalid base64 data in continued response")
        elif isinstance(answer, str):
            self.sasl = (tag_b, sasl)
            self.send(f"+ {answer}")
        else:
            self.fail(tag, *answer, f"AUTHENTICATE {sasl.mechanism}")

    def fail(self, tag: str, user: bytes, password: bytes, mechanism: str) -> None:
        self.events.login(user, password, "failure", mechanism=mechanism)
        self.send(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.")

    def do_STARTTLS(self, tag: str, args: list[bytes]) -> None:
        if self.secure():
            self.send(f"{tag} BAD TLS is already active.")
            return
        self.send(f"{tag} OK Begin TLS negotiation now.")
        self.clearLineBuffer()
        self.start_tls()

    def do_LOGOUT(self, tag: str, args: list[bytes]) -> None:
        self.send("* BYE Logging out", f"{tag} OK Logout completed.")
        self.transport.loseConnection()


def build(ctx: EmulatorContext) -> list[Service]:
    return tcp_services(ctx, factory_for(ctx, IMAP))
