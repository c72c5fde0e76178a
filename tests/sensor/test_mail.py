"""SMTP, POP3 and IMAP emulators against Python's own clients: protocol-correct answers, and
each credential and command in the emitted events."""

from __future__ import annotations

import hashlib
import imaplib
import poplib
import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from decnet_sensor.emulators import imap, pop3, smtp
from decnet_sensor.emulators._common import Sasl
from emu_support import fuzz_tcp

pytestmark = pytest.mark.timeout(120)


def insecure() -> ssl.SSLContext:
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


# -- pure parts ---------------------------------------------------------------------------
def test_sasl_plain_and_login_exchanges() -> None:
    assert Sasl("PLAIN").feed(b"AGJvYgBzM2NyM3Q=") == (b"bob", b"s3cr3t")
    login = Sasl("LOGIN")
    assert login.first_challenge() == "VXNlcm5hbWU6"
    assert login.feed(b"Ym9i") == "UGFzc3dvcmQ6"
    assert login.feed(b"czNjcjN0") == (b"bob", b"s3cr3t")
    assert Sasl("PLAIN").feed(b"*") == "abort"
    assert Sasl("PLAIN").feed(b"not base64!") == "bad"
    assert Sasl("PLAIN").feed(b"Ym9i") == "bad"  # no NULs


def test_smtp_pure_parts() -> None:
    assert smtp.server_name("220 mx.acme.test ESMTP Postfix", "d1", "acme.test") == "mx.acme.test"
    assert smtp.server_name("", "d1", "acme.test") == "d1.acme.test"
    assert smtp.greeting("mx ESMTP", "mx") == "220 mx ESMTP"
    assert smtp.parse_address("FROM:<a@b.c> SIZE=12") == "a@b.c"
    assert smtp.parse_address("TO: bob@corp.local") == "bob@corp.local"
    assert smtp.parse_address("garbage") is None
    assert smtp.is_local("x@CORP.local", "corp.local")
    assert not smtp.is_local("x@corp.local.evil", "corp.local")


def test_imap_argument_parsing() -> None:
    assert imap.parse_args(b'"a \\"b\\"" c NIL') == [b'a "b"', b"c", b"NIL"]
    assert imap.parse_args(b"\x005\x00ab cd x") == [b"ab cd", b"x"]
    assert imap.literal_size(b"a LOGIN {12}") == (12, False)
    assert imap.literal_size(b"a LOGIN {3+}") == (3, True)
    assert imap.literal_size(b"a LOGIN x") is None
    for junk in (b'"', b"\x00", b"\x00x\x00", b"\x0099\x00a", b"(((", b""):
        imap.parse_args(junk)  # never raises


def test_pop3_apop_hash_is_crackable_form() -> None:
    challenge = "<1.2@h>"
    digest = hashlib.md5(f"{challenge}secret".encode()).hexdigest()
    h, salt = pop3.apop_hash(challenge, digest).split(":", 1)
    assert hashlib.md5((salt + "secret").encode()).hexdigest() == h


# -- behaviour over real sockets ----------------------------------------------------------
def test_smtp_session_like_postfix(serve: Callable[..., Any]) -> None:
    emu = serve(
        "smtp",
        ["25/tcp", "465/tcp"],
        {"banner": "220 mx.acme.test ESMTP Postfix", "domain": "acme.test"},
        tls=(465,),
    )
    s = smtplib.SMTP("127.0.0.1", emu.port(25), timeout=10)
    code, features = s.ehlo("evil.example")
    assert code == 250 and features.startswith(b"mx.acme.test")
    assert s.has_extn("starttls") and "PLAIN" in s.esmtp_features["auth"]
    with pytest.raises(smtplib.SMTPAuthenticationError) as err:
        s.login("admin", "hunter2")
    assert err.value.smtp_code == 535
    assert s.mail("spam@evil.example") == (250, b"2.1.0 Ok")
    assert s.rcpt("ceo@acme.test") == (250, b"2.1.5 Ok")
    assert s.rcpt("victim@gmail.com")[0] == 454  # not an open relay
    code, msg = s.data(b"Subject: invoice\r\n\r\n.hello\r\n")
    assert code == 250 and msg.startswith(b"2.0.0 Ok: queued as ")
    s.starttls(context=insecure())
    s.ehlo("evil.example")
    assert not s.has_extn("starttls")
    s.quit()
    with smtplib.SMTP_SSL("127.0.0.1", emu.port(465), timeout=10, context=insecure()) as s2:
        assert s2.ehlo("x")[0] == 250

    ehlo = emu.events(kind="request", method="EHLO", path="evil.example")[0]
    assert ehlo["src_ip"] == "127.0.0.1" and ehlo["dst_port"] == emu.port(25)
    logins = emu.events(2, kind="login", username="admin", password="hunter2")
    assert {e["mechanism"] for e in logins} >= {"PLAIN"} and logins[0]["outcome"] == "failure"
    assert emu.events(kind="request", method="MAIL", path="spam@evil.example")
    assert emu.events(kind="request", method="RCPT", path="victim@gmail.com")[0]["detail"] == {
        "accepted": False
    }
    data = emu.events(kind="request", method="DATA")[0]
    assert data["detail"]["subject"] == "invoice" and data["detail"]["to"] == ["ceo@acme.test"]
    assert ".hello" in data["query"]  # the dot-stuffing undone
    sessions = {e["session"] for e in emu.events(kind="request", dst_port=emu.port(25))}
    assert len(sessions) == 1


def test_smtp_protocol_errors(serve: Callable[..., Any]) -> None:
    emu = serve("smtp", ["25/tcp"])
    with socket.create_connection(("127.0.0.1", emu.port(25)), timeout=5) as s:
        f = s.makefile("rb")
        assert f.readline() == b"220 mail.corp.local ESMTP Postfix\r\n".replace(
            b"mail.corp.local ESMTP Postfix", b"decky01.corp.local ESMTP Postfix"
        )
        for line, answer in [
            (b"MAIL FROM:<a@b>", b"503 5.5.1 Error: send HELO/EHLO first"),
            (b"HELO x", b"250 decky01.corp.local"),
            (b"RCPT TO:<a@corp.local>", b"503 5.5.1 Error: need MAIL command"),
            (b"AUTH CRAM-MD5", b"535 5.7.8 Error: authentication failed: Invalid"),
            (b"AUTH PLAIN !!!", b"501 5.5.2 Cannot decode response"),
            (b"XYZZY", b"502 5.5.2 Error: command not recognized"),
        ]:
            s.sendall(line + b"\r\n")
            assert f.readline().startswith(answer), line
    assert emu.events(kind="request", method="XYZZY")


def test_pop3_user_pass_apop_and_sasl(serve: Callable[..., Any]) -> None:
    emu = serve("pop3", ["110/tcp", "995/tcp"], {"banner": "+OK mx ready."}, tls=(995,))
    p = poplib.POP3("127.0.0.1", emu.port(110), timeout=10)
    assert p.welcome.startswith(b"+OK mx ready. <") and b"@decky01>" in p.welcome
    assert "STLS" in p.capa() and "USER" in p.capa()
    p.user("root")
    with pytest.raises(poplib.error_proto, match="Authentication failed"):
        p.pass_("toor")
    with pytest.raises(poplib.error_proto, match="Authentication failed"):
        p.apop("root", "toor")
    p.stls(insecure())
    assert "STLS" not in p.capa()
    with pytest.raises(poplib.error_proto):
        p._shortcmd("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
    p.quit()
    p2 = poplib.POP3_SSL("127.0.0.1", emu.port(995), timeout=10, context=insecure())
    assert p2.welcome.startswith(b"+OK")
    p2.quit()

    assert emu.events(kind="login", username="root", password="toor", mechanism="USER")
    apop_event = emu.events(kind="login", username="root", mechanism="APOP")[0]
    digest, challenge = apop_event["hash"].split(":", 1)
    assert hashlib.md5(f"{challenge}toor".encode()).hexdigest() == digest
    assert "password" not in apop_event
    assert emu.events(kind="login", username="alice", password="wonderland", mechanism="PLAIN")


def test_imap_login_literals_authenticate(serve: Callable[..., Any]) -> None:
    emu = serve("imap", ["143/tcp", "993/tcp"], {"banner": "* OK IMAP ready."}, tls=(993,))
    m = imaplib.IMAP4("127.0.0.1", emu.port(143), timeout=10)
    assert m.welcome.startswith(b"* OK [CAPABILITY IMAP4rev1") and m.welcome.endswith(
        b"IMAP ready."
    )
    assert "STARTTLS" in m.capabilities and "AUTH=PLAIN" in m.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("alice", 'p"a ss')
    m.starttls(insecure())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.authenticate("PLAIN", lambda _: b"\0bob\0secret")
    m.logout()
    with socket.create_connection(("127.0.0.1", emu.port(143)), timeout=5) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a1 LOGIN {3}\r\n")
        assert f.readline() == b"+ OK\r\n"
        s.sendall(b"eve {4+}\r\npass\r\n")
        assert f.readline() == b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        s.sendall(b"a2 SELECT Secret\r\na3 FROB x\r\n")
        assert f.readline() == b"a2 NO [ALERT] Please login first.\r\n"
        assert f.readline().startswith(b"a3 BAD Error in IMAP command FROB")
    with imaplib.IMAP4_SSL("127.0.0.1", emu.port(993), ssl_context=insecure()) as m2:
        assert "STARTTLS" not in m2.capabilities

    assert emu.events(kind="login", username="alice", password='p"a ss', mechanism="LOGIN")
    assert emu.events(kind="login", username="bob", password="secret")
    assert emu.events(kind="login", username="eve", password="pass")
    assert emu.events(kind="request", method="SELECT", path="Secret")
    assert emu.events(kind="request", method="FROB")
    assert not [e for e in emu.drain() if "pass" in e.get("query", "")]  # no password as query


@pytest.mark.parametrize("service,port", [("smtp", 25), ("pop3", 110), ("imap", 143)])
def test_mail_fuzz_then_still_answers(serve: Callable[..., Any], service: str, port: int) -> None:
    emu = serve(service, [f"{port}/tcp"])
    seeds = [
        b"EHLO x\r\nAUTH PLAIN AGEAYg==\r\n",
        b"USER a\r\nPASS b\r\n",
        b"a1 LOGIN {5}\r\nab",
        b"a AUTHENTICATE LOGIN\r\n\xff\r\n",
    ]
    fuzz_tcp(emu.port(port), seeds)
    with socket.create_connection(("127.0.0.1", emu.port(port)), timeout=5) as s:
        assert s.recv(100)[:1] in (b"2", b"+", b"*")
    assert emu.alive()
