"""The SMB emulator against impacket's SMB client (what intruders use) and raw frames."""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
from collections.abc import Callable
from typing import Any

import pytest
from Cryptodome.Hash import MD4
from decnet_sensor.emulators import ntlm, smb, srvsvc
from emu_support import fuzz_tcp
from impacket.smbconnection import SessionError, SMBConnection

pytestmark = pytest.mark.timeout(120)


def nt_proof_matches(hashcat: str, password: str) -> bool:
    """Check a NetNTLMv2 line (hashcat 5600) against the password the client used."""
    user, _, domain, challenge, proof, blob = hashcat.split(":")
    nt_hash = MD4.new(password.encode("utf-16-le")).digest()
    key = hmac.new(nt_hash, (user.upper() + domain).encode("utf-16-le"), hashlib.md5).digest()
    mine = hmac.new(key, bytes.fromhex(challenge) + bytes.fromhex(blob), hashlib.md5).hexdigest()
    return mine == proof


def authenticate_message(user: str, domain: str, lm: bytes, nt: bytes) -> bytes:
    """An NTLMSSP AUTHENTICATE (unicode) as a client builds it."""
    payload, fields, offset = b"", b"", 64
    for value in (lm, nt, domain.encode("utf-16-le"), user.encode("utf-16-le"), b"W\0S\0", b""):
        fields += struct.pack("<HHI", len(value), len(value), offset)
        payload += value
        offset += len(value)
    head = ntlm.SIGNATURE + struct.pack("<I", 3) + fields + struct.pack("<I", ntlm.UNICODE)
    return head + payload


def test_pure_parts() -> None:
    msg = ntlm.challenge(b"12345678", "corp", "dc01", "corp.local")
    assert ntlm.message_type(msg) == 2 and msg[24:32] == b"12345678"
    assert "CORP".encode("utf-16-le") in msg and "DC01".encode("utf-16-le") in msg
    with pytest.raises(ntlm.Malformed):
        user_beyond_end = struct.pack("<HHI", 10, 10, 1000)
        ntlm.parse_authenticate(
            ntlm.SIGNATURE + struct.pack("<I", 3) + b"\0" * 24 + user_beyond_end + b"\0" * 20
        )
    v1 = ntlm.Authenticate("bob", "CORP", "WS", b"L" * 24, b"N" * 24)
    assert (
        v1.hashcat(b"\x01" * 8) == f"bob::CORP:{(b'L' * 24).hex()}:{(b'N' * 24).hex()}:" + "01" * 8
    )
    assert smb.choose_dialect([0x0202, 0x0302, 0x0400]) == 0x0302
    assert smb.choose_dialect([0x0100]) is None
    assert smb.split_frame(b"\0\0\0\x05abc") is None
    with pytest.raises(smb.Malformed):
        smb.split_frame(b"\0\xff\xff\xff")
    stub = srvsvc.share_enum(smb.share_names("finance"))
    assert "finance\0".encode("utf-16-le") in stub and stub.endswith(b"\0\0\0\0")


def test_ntlmv2_captured_and_refused(serve: Callable[..., Any]) -> None:
    emu = serve("smb", ["445/tcp"], {"workgroup": "ACME"}, hostname="fs01")
    conn = SMBConnection("FS01", "127.0.0.1", sess_port=emu.port(445), timeout=10)
    assert conn.getDialect() == 0x0311
    with pytest.raises(SessionError) as err:
        conn.login("administrator", "Summer2026!", domain="ACME")
    assert err.value.getErrorCode() == smb.LOGON_FAILURE
    # what the CHALLENGE told the client (nmap's smb-os-discovery reads the same)
    assert conn.getServerName() == "FS01" and conn.getServerDomain() == "ACME"
    assert conn.getServerDNSDomainName() == "acme.local"
    login = emu.events(kind="login", username="administrator")[0]
    assert login["outcome"] == "failure" and login["domain"] == "ACME"
    assert login["mechanism"] == "NTLMv2" and "password" not in login
    assert nt_proof_matches(login["hash"], "Summer2026!")
    assert not nt_proof_matches(login["hash"], "Summer2025!")
    negotiate = emu.events(kind="request", method="NEGOTIATE")
    assert any("0311" in e["detail"].get("dialects", []) for e in negotiate)


def test_ntlmv1_in_hashcat_5500_form() -> None:
    msg = authenticate_message("bob", "CORP", b"L" * 24, b"N" * 24)
    auth = ntlm.parse_authenticate(msg)
    assert (auth.user, auth.domain, auth.workstation, auth.version) == (
        "bob",
        "CORP",
        "WS",
        "NTLMv1",
    )
    user, _, domain, lm, nt, challenge = auth.hashcat(b"\x01" * 8).split(":")
    assert (user, domain, lm, nt, challenge) == (
        "bob",
        "CORP",
        (b"L" * 24).hex(),
        (b"N" * 24).hex(),
        "01" * 8,
    )
    assert ntlm.find(b"\x30\x10SPNEGO" + msg) == msg
    anonymous = ntlm.parse_authenticate(authenticate_message("", "", b"\0", b""))
    assert anonymous.anonymous


def test_null_session_lists_shares(serve: Callable[..., Any]) -> None:
    emu = serve("smb", ["445/tcp"], {"share": "Finance"})
    conn = SMBConnection("X", "127.0.0.1", sess_port=emu.port(445), timeout=10)
    conn.login("", "")
    names = [s["shi1_netname"][:-1] for s in conn.listShares()]
    assert names == ["ADMIN$", "C$", "IPC$", "Finance"]
    for share, code in (
        ("C$", smb.ACCESS_DENIED),
        ("Finance", smb.ACCESS_DENIED),
        ("nope", smb.BAD_NETWORK_NAME),
    ):
        with pytest.raises(SessionError) as err:
            conn.connectTree(share)
        assert err.value.getErrorCode() == code
    conn.logoff()
    assert emu.events(kind="login", username="", mechanism="anonymous", outcome="success")
    assert emu.events(kind="request", method="SHARE_ENUM")
    trees = {e["detail"]["share"] for e in emu.events(4, kind="request", method="TREE_CONNECT")}
    assert trees == {"IPC$", "C$", "Finance", "nope"}


def test_guest_mode_accepts_and_denies_files(serve: Callable[..., Any]) -> None:
    emu = serve("smb", ["445/tcp"], {"share": "scans", "guest": "true"})
    conn = SMBConnection("X", "127.0.0.1", sess_port=emu.port(445), timeout=10)
    conn.login("jdoe", "Welcome1", domain="CORP")
    assert conn.isGuestSession()
    tid = conn.connectTree("scans")
    assert tid > 0
    with pytest.raises(SessionError) as err:
        conn.listPath("scans", "*")
    assert err.value.getErrorCode() == smb.ACCESS_DENIED
    login = emu.events(kind="login", username="jdoe")[0]
    assert login["outcome"] == "success" and nt_proof_matches(login["hash"], "Welcome1")
    assert emu.events(kind="request", method="CREATE")


def test_netbios_smb1_and_fuzz(serve: Callable[..., Any]) -> None:
    emu = serve("smb", ["445/tcp", "139/tcp"])
    port = emu.port(139)
    smb1_only = b"\xffSMBr" + b"\0" * 27 + b"\x00\x0c\x00\x02NT LM 0.12\x00"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x81\0\0\x44" + b"\x20" + b"A" * 32 + b"\0" + b"\x20" + b"B" * 32 + b"\0")
        assert s.recv(4) == b"\x82\0\0\0"
        s.sendall(smb.frame(smb1_only))
        assert s.recv(10) == b""  # SMB1 only: closed, as Windows with SMB1 off
    assert emu.events(kind="request", method="NEGOTIATE", detail={"smb1": ["NT LM 0.12"]})
    negotiate = smb.frame(
        b"\xfeSMB"
        + struct.pack("<H", 64)
        + b"\0" * 58
        + struct.pack("<HHHHI16sQ", 36, 2, 1, 0, 0, b"g" * 16, 0)
        + struct.pack("<HH", 0x0202, 0x0311)
    )
    seeds = [
        negotiate,
        smb.frame(smb1_only[:4] + b"r" + smb1_only[5:]),
        negotiate + smb.frame(b"\xfeSMB" + b"\x40\0" + b"\0" * 200),
    ]
    fuzz_tcp(emu.port(445), seeds, rounds=40)
    with socket.create_connection(("127.0.0.1", emu.port(445)), timeout=5) as s:
        s.sendall(negotiate)
        got = s.recv(4096)
        assert (
            got[4:8] == b"\xfeSMB"
            and struct.unpack("<H", got[4 + 64 + 4 : 4 + 64 + 6])[0] == 0x0311
        )
    conn = SMBConnection("X", "127.0.0.1", sess_port=emu.port(445), timeout=10)
    conn.login("", "")
    assert emu.alive()
