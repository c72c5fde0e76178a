"""A corpus of hostile input — control characters, ANSI escapes, `<script>`, RFC 5424
metacharacters, invalid UTF-8, lone surrogates, megabyte values — written by the sensor's
writer and, raw, by a compromised sensor, through every way out of decnet: the collector in
`decnet serve` (in-process), the store, the CLI (terminal-safe), the API (JSON) and SSE."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
from collect_support import DECNET, context, decnet_env, local_inventory, wait_until, writer
from httpx_sse import connect_sse

from decnet.api.config import API_PREFIX, ApiConfig
from decnet.api.server import ThreadedServer
from decnet.engine.collect import CollectOptions
from decnet.engine.tokens import Role, create_token
from decnet.events import LONG, SHORT
from decnet.settings import Settings
from decnet.store import Store

SRC = "10.66.3.3"
CORPUS = [
    "\x1b]0;owned\x07\x1b[2J\x1b[31mred",
    "<script>alert(document.cookie)</script>",
    '] " \\ [origin ip="1.2.3.4"] \\"',
    "\r\nInjected: line\r\n\x00\x7f\x85\u2028\u202etxt",
    "\ud800 lone \udfff",
    "A" * 2_000_000,
]
ESCAPES = ("\x1b", "\x07", "\x00", "\r", "\x7f", "\x85", "\u2028", "\u202e")


def write_corpus(source: Path) -> int:
    """Each value as username, password, command and path, through the real writer; then lines
    a compromised sensor could write (raw control bytes, invalid UTF-8). Returns the count."""
    w = writer(source)
    ends = {"src_ip": SRC, "src_port": 7, "dst_ip": "10.77.0.2", "dst_port": 22}
    for i, value in enumerate(CORPUS):
        session = {"service": "ssh", "session": f"h{i}"}
        w.write("decnet", {"kind": "login", "username": value, "password": value,
                           "outcome": "failure", **ends}, **session)  # fmt: skip
        w.write("decnet", {"kind": "command", "command": value, **ends}, **session)
        w.write("decnet", {"kind": "request", "method": "GET", "path": value,
                           "user_agent": value, **ends}, **session)  # fmt: skip
    seq = w.seq
    with open(source / "events.jsonl", "ab") as f:
        for raw in (b"\x1b[31m\xff\xfe\tuser\x07", b"<script>\xc3("):
            seq += 1
            f.write(b'{"v":1,"epoch":"' + w.epoch.encode() + b'","seq":%d,' % seq
                    + b'"at":"2026-12-07T10:00:00.000000Z","sensor":"decnet","service":"ssh",'
                    + b'"event":{"kind":"command","src_ip":"' + SRC.encode() + b'","command":"'
                    + raw + b'"}}\n')  # fmt: skip
    return seq


def terminal_safe(text: str) -> bool:
    return not any(c in text for c in ESCAPES)


def test_hostile_input_is_data_on_every_way_out(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    inventory = local_inventory(tmp_path, sensors)
    expected = write_corpus(sensors / "hx" / "gw" / "sensor")  # every line an event
    settings = Settings(db_path=tmp_path / "decnet.db", home=tmp_path / "home", inventory=inventory)
    context(tmp_path, inventory).store.close()
    with Store(settings.db_path) as store:
        _, token = create_token(store, "viewer", Role.VIEWER)
    config = ApiConfig(
        settings=settings, web_dir=str(tmp_path / "no-web"), watch=False, collect=True,
        collect_options=CollectOptions(inventory=inventory),
    )  # fmt: skip
    server = ThreadedServer(config).start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url + API_PREFIX, headers=headers, timeout=30) as c:

            def page() -> list[dict[str, object]]:
                r = c.get("/events", params={"type": "attack.*", "limit": 1000})
                return list(r.json()["items"])

            wait_until(lambda: len(page()) == expected, timeout=60)
            api = page()
            r = c.get("/events", params={"type": "attack.*", "limit": 1000})
            assert r.headers["content-type"].startswith("application/json")
            # SSE: the same events, each frame one JSON document
            with connect_sse(c, "GET", "/events/stream", params={"since": 0}) as source:
                frames = source.iter_sse()
                assert next(frames).event == "snapshot"
                streamed = []
                for frame in frames:  # `event:` is the event's type
                    if frame.event.startswith("attack."):
                        data = json.loads(frame.data)
                        assert data["type"] == frame.event and frame.id == str(data["id"])
                        streamed.append(data)
                    if len(streamed) == expected:
                        break
            assert [e["payload"] for e in streamed] == [e["payload"] for e in api]
            detail = c.get(f"/attackers/{SRC}").json()
            assert detail["attacker"]["events"] == expected
            assert c.get("/attackers/<script>").status_code == 422
    finally:
        server.stop()
    payloads = [e["payload"] for e in api]
    # stored as data, capped: the values came back as written (cut to their caps), nothing lost
    logins = [p for p in payloads if "username" in p]
    assert logins[0]["username"] == CORPUS[0] and logins[1]["password"] == CORPUS[1]
    assert logins[2]["username"] == CORPUS[2] and "\x00" in logins[3]["username"]
    assert logins[4]["username"] == "\ufffd lone \ufffd"  # lone surrogates cannot be stored
    assert all(len(p["username"]) <= SHORT for p in logins)
    commands = [p["command"] for p in payloads if "command" in p]
    assert max(len(c) for c in commands) == LONG
    assert commands[-2] == "\x1b[31m\ufffd\ufffd\tuser\x07" and commands[-1] == "<script>\ufffd("
    # the CLI: every way of showing them is terminal-safe
    env = decnet_env(tmp_path)
    for args in (
        ["events", "--type", "attack.*", "--last", "1000"],
        ["attackers"],
        ["attackers", "show", SRC],
    ):
        out = subprocess.run([str(DECNET), *args], env=env, capture_output=True, text=True,
                             check=True)  # fmt: skip
        assert terminal_safe(out.stdout), args
        assert "<script>" in out.stdout or args == ["attackers"]  # shown, as text
    out = subprocess.run([str(DECNET), "events", "--type", "attack.*", "--json", "--last", "1000"],
                         env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert [json.loads(line)["payload"] for line in out.stdout.splitlines()] == payloads
