"""LDAPv3 (389 with StartTLS; 636 with TLS) answering like OpenLDAP: simple and SASL PLAIN
binds recorded (the configured admin password succeeds), searches recorded with their base DN
and filter; the root DSE and the base entry answer, everything else is empty or refused."""

from __future__ import annotations

from twisted.application.service import Service

from . import ber
from ._common import BinaryProtocol, factory_for, tcp_services, text
from .base import EmulatorContext

SERVICE = "ldap"

MAX_MESSAGE = 1 << 16
STARTTLS_OID = "1.3.6.1.4.1.1466.20037"
SUCCESS, OPERATIONS_ERROR, PROTOCOL_ERROR, AUTH_METHOD_NOT_SUPPORTED = 0, 1, 2, 7
NO_SUCH_OBJECT, INVALID_CREDENTIALS, INSUFFICIENT_ACCESS, UNWILLING = 32, 49, 50, 53
# request application tag -> response application tag (for the operations we only refuse)
REFUSED = {0x66: 0x67, 0x68: 0x69, 0x4A: 0x6B, 0x6C: 0x6D, 0x6E: 0x6F}
OPERATION_NAMES = {0x66: "MODIFY", 0x68: "ADD", 0x4A: "DELETE", 0x6C: "MODDN", 0x6E: "COMPARE"}
SCOPES = {0: "base", 1: "one", 2: "sub"}


def escape(value: bytes) -> str:
    """An assertion value as RFC 4515 writes it (*, (, ), \\ and NUL escaped)."""
    out = text(value)
    for ch, esc in (("\\", "\\5c"), ("*", "\\2a"), ("(", "\\28"), (")", "\\29"), ("\0", "\\00")):
        out = out.replace(ch, esc)
    return out


def filter_text(tag: int, content: bytes, depth: int = 0) -> str:
    """An LDAP filter as its RFC 4515 string."""
    if depth > 16:
        raise ber.Malformed("filter too deep")
    if tag in (0xA0, 0xA1):
        op = "&" if tag == 0xA0 else "|"
        inner = "".join(filter_text(t, c, depth + 1) for t, c in ber.children(content))
        return f"({op}{inner})"
    if tag == 0xA2:
        t, c, _ = ber.decode(content)
        return f"(!{filter_text(t, c, depth + 1)})"
    if tag == 0x87:
        return f"({text(content, 128)}=*)"
    parts = ber.children(content)
    if tag in (0xA3, 0xA5, 0xA6, 0xA8) and len(parts) == 2:
        op = {0xA3: "=", 0xA5: ">=", 0xA6: "<=", 0xA8: "~="}[tag]
        return f"({text(parts[0][1], 128)}{op}{escape(parts[1][1])})"
    if tag == 0xA4 and len(parts) == 2:
        pieces = {0x80: "", 0x81: "", 0x82: ""}
        initial, anys, final = "", [], ""
        for t, c in ber.children(parts[1][1]):
            if t not in pieces:
                raise ber.Malformed("bad substring")
            if t == 0x80:
                initial = escape(c)
            elif t == 0x81:
                anys.append(escape(c))
            else:
                final = escape(c)
        return f"({text(parts[0][1], 128)}={'*'.join([initial, *anys, final])})"
    if tag == 0xA9:
        fields = {t: text(c, 128) for t, c in parts}
        rule = f":{fields[0x81]}" if 0x81 in fields else ""
        return f"({fields.get(0x82, '')}{rule}:={escape(parts[-1][1])})"
    raise ber.Malformed("unknown filter")


def ldap_result(
    msg_id: int, op_tag: int, code: int, message: str = "", extra: bytes = b""
) -> bytes:
    body = ber.integer(code, 0x0A) + ber.octets(b"") + ber.octets(message) + extra
    return ber.seq(ber.integer(msg_id), ber.tlv(op_tag, body))


def entry(msg_id: int, dn: str, attrs: dict[str, list[str]]) -> bytes:
    attributes = ber.seq(
        *(
            ber.seq(ber.octets(k), ber.seq(*(ber.octets(v) for v in vs), tag=0x31))
            for k, vs in attrs.items()
        )
    )
    return ber.seq(ber.integer(msg_id), ber.tlv(0x64, ber.octets(dn) + attributes))


def root_dse(base_dn: str) -> dict[str, list[str]]:
    return {
        "objectClass": ["top", "OpenLDAProotDSE"],
        "namingContexts": [base_dn],
        "supportedControl": [
            "2.16.840.1.113730.3.4.18",
            "1.2.840.113556.1.4.319",
            "1.3.6.1.4.1.4203.1.10.1",
            "2.16.840.1.113730.3.4.2",
        ],
        "supportedExtension": [STARTTLS_OID, "1.3.6.1.4.1.4203.1.11.1", "1.3.6.1.4.1.4203.1.11.3"],
        "supportedLDAPVersion": ["3"],
        "supportedSASLMechanisms": ["PLAIN", "LOGIN"],
        "subschemaSubentry": ["cn=Subschema"],
    }


def base_entry(base_dn: str) -> dict[str, list[str]]:
    first = base_dn.split(",")[0]
    _, _, dc = first.partition("=")
    return {"objectClass": ["top", "dcObject", "organization"], "o": [dc], "dc": [dc]}


class LDAP(BinaryProtocol):
    MAX_BUFFER = MAX_MESSAGE + 8

    def connectionMade(self) -> None:
        super().connectionMade()
        self.base_dn = self.ctx.config.get("base_dn", "dc=corp,dc=local")
        self.bound = ""

    def consume(self) -> None:
        try:
            while not self.closing():
                got = ber.split(self.buffer, MAX_MESSAGE)
                if got is None:
                    return
                tag, content, self.buffer = got
                if tag != 0x30 or not self.count_command():
                    self.transport.loseConnection()
                    return
                self.message(content)
        except ber.Malformed:
            self.transport.loseConnection()

    def message(self, content: bytes) -> None:
        parts = ber.children(content)
        if len(parts) < 2 or parts[0][0] != 0x02:
            raise ber.Malformed("no message id")
        msg_id, (op, body) = ber.to_int(parts[0][1]), parts[1]
        if op == 0x60:
            self.bind(msg_id, body)
        elif op == 0x63:
            self.search(msg_id, body)
        elif op == 0x42:  # unbind
            self.transport.loseConnection()
        elif op == 0x77:
            self.extended(msg_id, body)
        elif op in REFUSED:
            target = ber.decode(body)[1] if op != 0x4A else body
            self.events.request(OPERATION_NAMES[op], target)
            code = INSUFFICIENT_ACCESS if self.bound else UNWILLING
            self.transport.write(ldap_result(msg_id, REFUSED[op], code))
        elif op != 0x50:  # abandon has no answer; anything else is not LDAP
            raise ber.Malformed("unknown operation")

    def bind(self, msg_id: int, body: bytes) -> None:
        parts = ber.children(body)
        if len(parts) != 3:
            raise ber.Malformed("bad bind")
        version, dn, (auth_tag, auth) = ber.to_int(parts[0][1]), parts[1][1], parts[2]
        if version != 3:
            self.transport.write(
                ldap_result(msg_id, 0x61, PROTOCOL_ERROR, "requested protocol version not allowed")
            )
            return
        if auth_tag == 0xA3:
            self.sasl_bind(msg_id, dn, auth)
            return
        if auth_tag != 0x80:
            self.transport.write(ldap_result(msg_id, 0x61, AUTH_METHOD_NOT_SUPPORTED))
            return
        if not dn and not auth:  # anonymous
            self.bound = ""
            self.transport.write(ldap_result(msg_id, 0x61, SUCCESS))
            return
        if not auth:
            self.events.login(dn, b"", "failure", mechanism="simple")
            self.transport.write(
                ldap_result(
                    msg_id, 0x61, UNWILLING, "unauthenticated bind (DN with no password) disallowed"
                )
            )
            return
        self.check(msg_id, dn, auth, "simple")

    def sasl_bind(self, msg_id: int, dn: bytes, auth: bytes) -> None:
        parts = ber.children(auth)
        mech = text(parts[0][1], 32).upper() if parts else ""
        creds = parts[1][1] if len(parts) > 1 else b""
        if mech == "PLAIN" and creds.count(b"\0") == 2:
            _, user, password = creds.split(b"\0")
            self.check(msg_id, user, password, "SASL PLAIN")
            return
        self.events.request("BIND", dn, detail={"mechanism": mech})
        self.transport.write(
            ldap_result(
                msg_id, 0x61, AUTH_METHOD_NOT_SUPPORTED, "SASL(-4): no mechanism available: "
            )
        )

    def check(self, msg_id: int, user: bytes, password: bytes, mechanism: str) -> None:
        configured = self.ctx.config.get("admin_password", "")
        ok = bool(configured) and password == configured.encode()
        self.events.login(user, password, "success" if ok else "failure", mechanism=mechanism)
        if ok:
            self.bound = text(user)
            self.transport.write(ldap_result(msg_id, 0x61, SUCCESS))
        else:
            self.transport.write(ldap_result(msg_id, 0x61, INVALID_CREDENTIALS))

    def search(self, msg_id: int, body: bytes) -> None:
        parts = ber.children(body)
        if len(parts) < 8:
            raise ber.Malformed("bad search")
        base = text(parts[0][1])
        scope = SCOPES.get(ber.to_int(parts[1][1]), "?")
        filt = filter_text(*parts[6])
        attrs = [text(c, 64) for _, c in ber.children(parts[7][1])][:32]
        self.events.request(
            "SEARCH", base, query=filt, detail={"scope": scope, "attributes": attrs}
        )
        out = b""
        code = SUCCESS
        if base == "" and scope == "base":
            out = entry(msg_id, "", root_dse(self.base_dn))
        elif base.lower() == self.base_dn.lower():
            out = entry(msg_id, self.base_dn, base_entry(self.base_dn))
        elif not base.lower().endswith(self.base_dn.lower()):
            code = NO_SUCH_OBJECT
        self.transport.write(out + ldap_result(msg_id, 0x65, code))

    def extended(self, msg_id: int, body: bytes) -> None:
        parts = ber.children(body)
        name = text(parts[0][1], 64) if parts else ""
        self.events.request("EXTENDED", name)
        if name == STARTTLS_OID and not self.secure():
            self.transport.write(ldap_result(msg_id, 0x78, SUCCESS))
            self.buffer = b""  # nothing sent before the handshake counts after it
            self.start_tls()
        else:
            self.transport.write(
                ldap_result(msg_id, 0x78, PROTOCOL_ERROR, "unsupported extended operation")
            )


def build(ctx: EmulatorContext) -> list[Service]:
    return tcp_services(ctx, factory_for(ctx, LDAP))
