"""SMTP (25, 587; 465 with TLS) answering like Postfix: EHLO, STARTTLS, AUTH PLAIN/LOGIN
(every credential is refused and recorded), MAIL/RCPT/DATA accepted for the decky's own
domain and recorded as requests (nothing is delivered or kept beyond a short excerpt)."""

from __future__ import annotations

import re
import secrets

from twisted.application.service import Service

from ._common import LineProtocol, Sasl, factory_for, tcp_services, text
from .base import EmulatorContext

SERVICE = "smtp"

MAX_MESSAGE = 10_240_000  # what EHLO's SIZE announces
EXCERPT = 2048  # bytes of a message kept for the event's subject/excerpt
_ADDRESS = re.compile(r"(?i)^(?:FROM|TO):\s*<?([^<>\s]*)>?")
_SUBJECT = re.compile(rb"(?im)^subject:[ \t]*(.*)$")


def server_name(banner: str, hostname: str, domain: str) -> str:
    """The name Postfix puts in its answers: the banner's host, else hostname.domain."""
    words = banner.split()
    if len(words) > 1 and words[0].isdigit() and "." in words[1]:
        return words[1]
    return f"{hostname}.{domain}" if domain else hostname


def greeting(banner: str, name: str) -> str:
    banner = banner.strip() or f"{name} ESMTP Postfix"
    return banner if re.match(r"^\d{3}[ -]", banner) else f"220 {banner}"


def parse_address(arg: str) -> str | None:
    """The address of `FROM:<a@b> SIZE=1` / `TO:<a@b>`, or None when malformed."""
    m = _ADDRESS.match(arg.strip())
    return m.group(1) if m else None


def is_local(address: str, domain: str) -> bool:
    _, _, dom = address.rpartition("@")
    return bool(domain) and dom.lower() == domain.lower()


def queue_id() -> str:
    return secrets.token_hex(5).upper()


class SMTP(LineProtocol):
    def greet(self) -> None:
        cfg = self.ctx.config
        self.domain = cfg.get("domain", "corp.local")
        banner = cfg.get("banner", "")
        self.name = server_name(banner, self.ctx.hostname, self.domain)
        self.helo = ""
        self.pending: Sasl | None = None  # an AUTH waiting for the client's next response
        self.reset()
        self.send(greeting(banner, self.name))

    def reset(self) -> None:
        self.mail_from: str | None = None
        self.rcpts: list[str] = []
        self.data: bytearray | None = None
        self.size = 0

    # -- dispatch ---------------------------------------------------------------
    def handle(self, line: bytes) -> None:
        if self.data is not None:
            self.data_line(line)
        elif self.pending is not None:
            self.auth_step(line)
        else:
            self.command(line)

    def lineReceived(self, line: bytes) -> None:
        if self.data is not None:  # message lines are not commands: no command budget
            self.resetTimeout()
            self.handle(line.rstrip(b"\r"))
        else:
            super().lineReceived(line)

    def command(self, line: bytes) -> None:
        verb, _, arg_b = line.strip().partition(b" ")
        cmd = verb.decode("ascii", "replace").upper()
        arg = text(arg_b).strip()
        handler = getattr(self, f"do_{cmd}", None) if cmd.isalpha() else None
        if handler is None:
            self.events.request(cmd[:16] or "EMPTY", "", query=text(line))
            self.send("502 5.5.2 Error: command not recognized")
            return
        handler(arg)

    # -- commands ---------------------------------------------------------------
    def do_HELO(self, arg: str) -> None:
        if not arg:
            self.send("501 Syntax: HELO hostname")
            return
        self.helo = arg
        self.events.request("HELO", arg)
        self.send(f"250 {self.name}")

    def do_EHLO(self, arg: str) -> None:
        if not arg:
            self.send("501 Syntax: EHLO hostname")
            return
        self.helo = arg
        self.reset()
        self.events.request("EHLO", arg)
        tls = [] if self.secure() else ["STARTTLS"]
        ext = [
            "PIPELINING",
            f"SIZE {MAX_MESSAGE}",
            "VRFY",
            "ETRN",
            *tls,
            "AUTH PLAIN LOGIN",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "DSN",
            "SMTPUTF8",
        ]
        lines = [self.name, *ext]
        self.send(*[f"250-{x}" for x in lines[:-1]], f"250 {lines[-1]}")

    def do_STARTTLS(self, arg: str) -> None:
        if self.secure():
            self.send("554 5.5.1 Error: TLS already active")
            return
        self.send("220 2.0.0 Ready to start TLS")
        self.clearLineBuffer()  # nothing sent before the handshake counts after it
        self.start_tls()
        self.helo = ""
        self.reset()

    def do_AUTH(self, arg: str) -> None:
        mech, _, initial = arg.partition(" ")
        if not self.helo:
            self.send("503 5.5.1 Error: send HELO/EHLO first")
        elif mech.upper() not in Sasl.MECHANISMS:
            self.send("535 5.7.8 Error: authentication failed: Invalid authentication mechanism")
        else:
            self.pending = Sasl(mech.upper())
            if initial:
                self.auth_step(initial.encode())
            else:
                self.send(f"334 {self.pending.first_challenge()}")

    def auth_step(self, line: bytes) -> None:
        assert self.pending is not None
        sasl, self.pending = self.pending, None
        answer = sasl.feed(line)
        if answer == "abort":
            self.send("501 5.7.0 Authentication aborted")
        elif answer == "bad":
            self.send("501 5.5.2 Cannot decode response")
        elif isinstance(answer, str):
            self.pending = sasl
            self.send(f"334 {answer}")
        else:
            self.events.login(*answer, "failure", mechanism=sasl.mechanism)
            self.send("535 5.7.8 Error: authentication failed: authentication failure")

    def do_MAIL(self, arg: str) -> None:
        address = parse_address(arg)
        if not self.helo:
            self.send("503 5.5.1 Error: send HELO/EHLO first")
        elif self.mail_from is not None:
            self.send("503 5.5.1 Error: nested MAIL command")
        elif address is None or not arg.upper().startswith("FROM:"):
            self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
        else:
            self.mail_from = address
            self.events.request("MAIL", address)
            self.send("250 2.1.0 Ok")

    def do_RCPT(self, arg: str) -> None:
        address = parse_address(arg)
        if self.mail_from is None:
            self.send("503 5.5.1 Error: need MAIL command")
        elif address is None or not arg.upper().startswith("TO:"):
            self.send("501 5.5.4 Syntax: RCPT TO:<address>")
        elif not is_local(address, self.domain):
            self.events.request("RCPT", address, detail={"accepted": False})
            self.send(f"454 4.7.1 <{address}>: Relay access denied")
        elif len(self.rcpts) >= 100:
            self.send("452 4.5.3 Error: too many recipients")
        else:
            self.rcpts.append(address)
            self.events.request("RCPT", address, detail={"accepted": True})
            self.send("250 2.1.5 Ok")

    def do_DATA(self, arg: str) -> None:
        if self.mail_from is None:
            self.send("503 5.5.1 Error: need RCPT command")
        elif not self.rcpts:
            self.send("554 5.5.1 Error: no valid recipients")
        else:
            self.data = bytearray()
            self.send("354 End data with <CR><LF>.<CR><LF>")

    def data_line(self, line: bytes) -> None:
        assert self.data is not None
        if line == b".":
            self.end_data()
            return
        if line.startswith(b"."):
            line = line[1:]
        self.size += len(line) + 2
        if self.size > 2 * MAX_MESSAGE:  # far past what SIZE allowed: stop listening
            self.transport.loseConnection()
            return
        if len(self.data) < EXCERPT:
            self.data += line[: EXCERPT - len(self.data)] + b"\n"

    def end_data(self) -> None:
        assert self.data is not None
        body = bytes(self.data)
        subject = _SUBJECT.search(body)
        detail = {
            "from": self.mail_from or "",
            "to": self.rcpts[:20],
            "size": self.size,
            "subject": text(subject.group(1).rstrip(b"\r") if subject else b""),
        }
        self.events.request("DATA", self.mail_from or "", query=text(body, 1024), detail=detail)
        if self.size > MAX_MESSAGE:
            self.send("552 5.3.4 Error: message file too big")
        else:
            self.send(f"250 2.0.0 Ok: queued as {queue_id()}")
        self.reset()

    def do_RSET(self, arg: str) -> None:
        self.reset()
        self.send("250 2.0.0 Ok")

    def do_NOOP(self, arg: str) -> None:
        self.send("250 2.0.0 Ok")

    def do_VRFY(self, arg: str) -> None:
        self.events.request("VRFY", arg)
        if not arg:
            self.send("501 5.5.4 Syntax: VRFY address")
        else:
            self.send(f"252 2.0.0 {arg}")

    def do_QUIT(self, arg: str) -> None:
        self.send("221 2.0.0 Bye")
        self.transport.loseConnection()


def build(ctx: EmulatorContext) -> list[Service]:
    return tcp_services(ctx, factory_for(ctx, SMTP))
