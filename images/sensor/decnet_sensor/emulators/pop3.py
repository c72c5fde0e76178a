"""POP3 (110 with STLS; 995 with TLS) answering like Dovecot: USER/PASS, APOP and SASL
PLAIN/LOGIN are recorded and refused; other commands are recorded as requests."""

from __future__ import annotations

import os
import secrets
import time

from twisted.application.service import Service

from ._common import LineProtocol, Sasl, factory_for, tcp_services, text
from .base import EmulatorContext

SERVICE = "pop3"

CAPA = [
    "CAPA",
    "TOP",
    "UIDL",
    "RESP-CODES",
    "PIPELINING",
    "AUTH-RESP-CODE",
    "USER",
    "SASL PLAIN LOGIN",
]
FAILED = "-ERR [AUTH] Authentication failed."


def greeting(banner: str, challenge: str) -> str:
    """The banner as a POP3 +OK line, with the APOP timestamp (RFC 1939) at its end."""
    banner = banner.strip() or "+OK Dovecot ready."
    if not banner.startswith("+OK"):
        banner = f"+OK {banner}"
    return f"{banner} {challenge}"


def apop_challenge(hostname: str) -> str:
    return f"<{os.getpid()}.{int(time.time())}.{secrets.randbelow(10**6)}@{hostname}>"


def apop_hash(challenge: str, digest: str) -> str:
    """APOP's MD5(challenge + password) as hashcat mode 20 (`md5($salt.$pass)`) takes it."""
    return f"{digest.lower()}:{challenge}"


class POP3(LineProtocol):
    def greet(self) -> None:
        self.user: bytes | None = None
        self.sasl: Sasl | None = None
        self.challenge = apop_challenge(self.ctx.hostname)
        self.send(greeting(self.ctx.config.get("banner", ""), self.challenge))

    def handle(self, line: bytes) -> None:
        if self.sasl is not None:
            self.sasl_step(line)
            return
        verb, _, arg_b = line.strip().partition(b" ")
        cmd = verb.decode("ascii", "replace").upper()
        handler = getattr(self, f"do_{cmd}", None) if cmd.isalpha() else None
        if handler is None:
            self.events.request(cmd[:16] or "EMPTY", "", query=text(line))
            self.send("-ERR Unknown command.")
            return
        handler(arg_b)

    def fail(self, user: bytes, password: bytes | None, mechanism: str, **extra: object) -> None:
        self.events.login(user, password, "failure", mechanism=mechanism, **extra)
        self.send(FAILED)

    def do_CAPA(self, arg: bytes) -> None:
        stls = [] if self.secure() else ["STLS"]
        self.send("+OK", *CAPA, *stls, ".")

    def do_USER(self, arg: bytes) -> None:
        self.user = arg.strip()
        self.send("+OK")

    def do_PASS(self, arg: bytes) -> None:
        if self.user is None:
            self.send("-ERR No username given.")
            return
        user, self.user = self.user, None
        self.fail(user, arg, "USER")

    def do_APOP(self, arg: bytes) -> None:
        user, _, digest = arg.strip().rpartition(b" ")
        if not user:
            self.send("-ERR Invalid arguments.")
            return
        self.fail(user, None, "APOP", hash=apop_hash(self.challenge, text(digest, 64)))

    def do_AUTH(self, arg: bytes) -> None:
        mech, _, initial = arg.strip().partition(b" ")
        name = mech.decode("ascii", "replace").upper()
        if not name:
            self.send("+OK", *Sasl.MECHANISMS, ".")
        elif name not in Sasl.MECHANISMS:
            self.send("-ERR Unsupported authentication mechanism.")
        else:
            self.sasl = Sasl(name)
            if initial:
                self.sasl_step(initial)
            else:
                self.send(f"+ {self.sasl.first_challenge()}")

    def sasl_step(self, line: bytes) -> None:
        assert self.sasl is not None
        sasl, self.sasl = self.sasl, None
        answer = sasl.feed(line)
        if answer == "abort":
            self.send("-ERR Authentication aborted by client.")
        elif answer == "bad":
            self.send("-ERR Invalid base64 data in continued response")
        elif isinstance(answer, str):
            self.sasl = sasl
            self.send(f"+ {answer}")
        else:
            self.fail(*answer, sasl.mechanism)

    def do_STLS(self, arg: bytes) -> None:
        if self.secure():
            self.send("-ERR TLS is already active.")
            return
        self.send("+OK Begin TLS negotiation now.")
        self.clearLineBuffer()
        self.start_tls()

    def do_NOOP(self, arg: bytes) -> None:
        self.send("+OK")

    def do_QUIT(self, arg: bytes) -> None:
        self.send("+OK Logging out.")
        self.transport.loseConnection()


def build(ctx: EmulatorContext) -> list[Service]:
    return tcp_services(ctx, factory_for(ctx, POP3))
