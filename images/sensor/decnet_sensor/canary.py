"""Services served by OpenCanary 0.9.10's modules, inside our reactor and through our writer.

We do not run `opencanary.tac`: it builds every enabled module from one global config and logs
through `opencanary.logger` (which pulls hpfeeds, requests and simplejson — none of them in
the image). Each module class takes `(config, logger)`; we hand it a small config object of
our own per service (so http and https keep their own Server header) and `CanaryLogger`, whose
`log(dict)` writes the module's dict as an `opencanary` line, its session found by the
connection's (src ip, src port). The module's `getService()` result is taken apart (port,
factory or datagram protocol, TLS context) and served on the decky's ports by our tracked
listeners.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twisted.application import service

from decnet_sensor.contract import ServicePorts, Settings
from decnet_sensor.track import Listener, Tracker

MODULES: dict[str, tuple[str, str]] = {
    "ftp": ("opencanary.modules.ftp", "CanaryFTP"),
    "http": ("opencanary.modules.http", "CanaryHTTP"),
    "https": ("opencanary.modules.https", "CanaryHTTPS"),
    "mysql": ("opencanary.modules.mysql", "CanaryMySQL"),
    "mssql": ("opencanary.modules.mssql", "MSSQL"),
    "redis": ("opencanary.modules.redis", "CanaryRedis"),
    "mongodb": ("opencanary.modules.mongodb", "CanaryMongoDB"),
    "rdp": ("opencanary.modules.rdp", "CanaryRDP"),
    "vnc": ("opencanary.modules.vnc", "CanaryVNC"),
    "sip": ("opencanary.modules.sip", "CanarySIP"),
    "tftp": ("opencanary.modules.tftp", "CanaryTftp"),
    "ntp": ("opencanary.modules.ntp", "CanaryNtp"),
    "git": ("opencanary.modules.git", "CanaryGit"),
}
"""Catalogue service -> (module, class) of OpenCanary that serves it."""

MYSQL_PLACEHOLDER = "5.7.0"
"""OpenCanary only accepts 3.x-6.x banners; the real version is set after construction."""

# OpenCanary's logtype numbers (opencanary.logger.LoggerBase), which modules read off the logger.
LOGTYPES = {
    "LOG_BASE_BOOT": 1000,
    "LOG_BASE_MSG": 1001,
    "LOG_BASE_DEBUG": 1002,
    "LOG_BASE_ERROR": 1003,
    "LOG_BASE_PING": 1004,
    "LOG_BASE_CONFIG_SAVE": 1005,
    "LOG_BASE_EXAMPLE": 1006,
    "LOG_FTP_LOGIN_ATTEMPT": 2000,
    "LOG_FTP_AUTH_ATTEMPT_INITIATED": 2001,
    "LOG_HTTP_GET": 3000,
    "LOG_HTTP_POST_LOGIN_ATTEMPT": 3001,
    "LOG_HTTP_UNIMPLEMENTED_METHOD": 3002,
    "LOG_HTTP_REDIRECT": 3003,
    "LOG_SSH_NEW_CONNECTION": 4000,
    "LOG_SSH_REMOTE_VERSION_SENT": 4001,
    "LOG_SSH_LOGIN_ATTEMPT": 4002,
    "LOG_SMB_FILE_OPEN": 5000,
    "LOG_PORT_SYN": 5001,
    "LOG_PORT_NMAPOS": 5002,
    "LOG_PORT_NMAPNULL": 5003,
    "LOG_PORT_NMAPXMAS": 5004,
    "LOG_PORT_NMAPFIN": 5005,
    "LOG_TELNET_LOGIN_ATTEMPT": 6001,
    "LOG_TELNET_CONNECTION_MADE": 6002,
    "LOG_HTTPPROXY_LOGIN_ATTEMPT": 7001,
    "LOG_MYSQL_LOGIN_ATTEMPT": 8001,
    "LOG_MSSQL_LOGIN_SQLAUTH": 9001,
    "LOG_MSSQL_LOGIN_WINAUTH": 9002,
    "LOG_MYSQL_CONNECTION_MADE": 9003,
    "LOG_TFTP": 10001,
    "LOG_NTP_MONLIST": 11001,
    "LOG_VNC": 12001,
    "LOG_SNMP_CMD": 13001,
    "LOG_RDP": 14001,
    "LOG_SIP_REQUEST": 15001,
    "LOG_GIT_CLONE_REQUEST": 16001,
    "LOG_REDIS_COMMAND": 17001,
    "LOG_TCP_BANNER_CONNECTION_MADE": 18001,
    "LOG_TCP_BANNER_KEEP_ALIVE_CONNECTION_MADE": 18002,
    "LOG_TCP_BANNER_KEEP_ALIVE_SECRET_RECEIVED": 18003,
    "LOG_TCP_BANNER_KEEP_ALIVE_DATA_RECEIVED": 18004,
    "LOG_TCP_BANNER_DATA_RECEIVED": 18005,
    "LOG_LLMNR_QUERY_RESPONSE": 19001,
    "LOG_MONGODB_LOGIN_ATTEMPT": 20001,
}
HTTP_LOGTYPES = frozenset({3000, 3001, 3002, 3003})


class CanaryConfig:
    """OpenCanary's `Config.getVal` over a plain dict: a missing key without a default raises."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def getVal(self, key: str, default: Any = None) -> Any:
        if key in self.values:
            return self.values[key]
        if default is not None:
            return default
        raise KeyError(key)

    def moduleEnabled(self, name: str) -> bool:
        return bool(self.values.get(f"{name.lower()}.enabled"))


class CanaryLogger:
    """The logger every module instance gets: its dicts become `opencanary` lines."""

    def __init__(self, tracker: Tracker, service_name: str, node_id: str) -> None:
        self.tracker, self.service_name, self.node_id = tracker, service_name, node_id
        for name, number in LOGTYPES.items():
            setattr(self, name, number)

    def log(self, logdata: dict[str, Any], retry: bool = True) -> None:
        data = dict(logdata)
        data.setdefault("src_host", "")
        data.setdefault("src_port", -1)
        data.setdefault("dst_host", "")
        data.setdefault("dst_port", -1)
        data.setdefault("logtype", LOGTYPES["LOG_BASE_MSG"])
        data.setdefault("logdata", {})
        data["node_id"] = self.node_id
        data["utc_time"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        session = None
        src, sport = data.get("src_host"), data.get("src_port")
        if isinstance(src, str) and isinstance(sport, int) and src:
            session = self.tracker.session_for(src, sport)
        self.tracker.emit("opencanary", data, self.service_name, session)

    def error(self, data: dict[str, Any]) -> None:
        self.log({"logtype": LOGTYPES["LOG_BASE_ERROR"], "logdata": data})


def _import_opencanary(runtime: Path, names: list[str]) -> dict[str, Any]:
    """Import the module classes serving `names` (and the config module two of them need),
    quietly; returns service -> class.

    `opencanary.config` loads a config file at import and exits the process without one; an
    empty one in the working directory satisfies it. Its banner goes to /dev/null.
    `opencanary.modules` replaces twisted's `Protocol` class for everything defined after it:
    once OpenCanary's modules are in, we put the original back, so only their classes carry it.
    """
    import importlib

    from twisted.internet import protocol

    original = protocol.Protocol
    (runtime / "opencanary.conf").write_text("{}\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(runtime)
    classes: dict[str, Any] = {}
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            import opencanary.config  # noqa: F401

            for name in names:
                module_name, class_name = MODULES[name]
                try:
                    classes[name] = getattr(importlib.import_module(module_name), class_name)
                except Exception as err:  # reported per service by build()
                    classes[name] = err
    finally:
        os.chdir(cwd)
        protocol.Protocol = original  # type: ignore[misc]
    return classes


REDIRECT_PAGE = """<html>
<head><title>301 Moved Permanently</title></head>
<body><h1>Moved Permanently</h1><p>The document has moved <a href="/index.html">here</a>.</p></body>
</html>
"""


def _skin(runtime: Path, service_name: str, title: str | None) -> Path:
    """OpenCanary's basicLogin skin with the decky's page title, and the redirect page that
    skin lacks (without it the redirect of `/` fails inside OpenCanary 0.9.10)."""
    from opencanary.modules.http import CanaryHTTP

    source = Path(CanaryHTTP.resource_dir()) / "skin" / "basicLogin"
    target = runtime / f"skin-{service_name}"
    if not target.exists():
        shutil.copytree(source, target)
        (target / "redirect.html").write_text(REDIRECT_PAGE, encoding="utf-8")
        if title:
            index = target / "index.html"
            text = index.read_text(encoding="utf-8")
            safe = html.escape(title)
            text = text.replace("<title>Login</title>", f"<title>{safe}</title>")
            text = re.sub(r"<h1>[^<]*</h1>", f"<h1>{safe}</h1>", text, count=1)
            index.write_text(text, encoding="utf-8")
    return target


def _mssql_version(version: str | None) -> str:
    """OpenCanary answers as SQL Server 2012 or 2014: 11.x -> 2012, anything else -> 2014."""
    return "2012" if (version or "").split(".")[0] == "11" else "2014"


def module_config(
    svc: ServicePorts, settings: Settings, runtime: Path, tls: tuple[Path, Path] | None
) -> dict[str, Any]:
    """The OpenCanary settings for one service, from its decnet config."""
    cfg = svc.config
    name = svc.name
    values: dict[str, Any] = {
        "device.node_id": settings.decky or settings.hostname,
        "device.listen_addr": "",
        f"{name}.enabled": True,
    }
    first = svc.ports[0][0]
    values[f"{name}.port"] = first
    if name == "ftp":
        banner = cfg.get("banner", "")
        values["ftp.banner"] = re.sub(r"^220[ -]", "", banner) or "FTP server ready."
    elif name in ("http", "https"):
        if cfg.get("server_header"):
            values["http.banner"] = cfg["server_header"]
        values["http.skindir"] = str(_skin(runtime, name, cfg.get("title")))
        values["http.log_redirect_request"] = True
        values["http.log_unimplemented_method_requests"] = True
        if name == "https" and tls is not None:
            values["https.domain_name"] = cfg.get("cert_cn", "")
            values["https.certificate"], values["https.key"] = str(tls[0]), str(tls[1])
    elif name == "mysql":
        values["mysql.banner"] = MYSQL_PLACEHOLDER
    elif name == "mssql":
        values["mssql.version"] = _mssql_version(cfg.get("version"))
    elif name == "mongodb" and cfg.get("version"):
        values["mongodb.version"] = cfg["version"]
    return values


def build(
    settings: Settings,
    names: list[str],
    tracker: Tracker,
    runtime: Path,
    on_error: Callable[[str, str], None],
) -> list[service.Service]:
    """Listeners for the OpenCanary-served services `names` (each in MODULES)."""
    from decnet_sensor import tls

    classes = _import_opencanary(runtime, names)
    out: list[service.Service] = []
    for name in names:
        svc = settings.service(name)
        assert svc is not None
        try:
            pair = None
            if name == "https":
                pair = tls.ensure_certificate(
                    settings.state_dir / "tls", svc.config.get("cert_cn") or settings.hostname
                )
            config = CanaryConfig(module_config(svc, settings, runtime, pair))
            klass = classes[name]
            if isinstance(klass, Exception):
                raise klass
            logger = CanaryLogger(tracker, name, settings.decky or settings.hostname)
            canary = klass(config=config, logger=logger)
            if name == "mysql":
                canary.banner = _one_line(svc.config.get("version", "")).encode() or b"8.0.36"
            served = canary.getService()
        except Exception as err:  # a module that cannot start must not take the others down
            on_error(name, f"opencanary {name}: {type(err).__name__}: {err}")
            continue
        for one in served if isinstance(served, list) else [served]:
            out += adopt(tracker, svc, one, on_error)
        if name in ("http", "https"):
            _log_other_requests(tracker, name, served)
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def adopt(
    tracker: Tracker,
    svc: ServicePorts,
    served: service.Service,
    on_error: Callable[[str, str], None],
) -> list[service.Service]:
    """Serve what a twisted `TCPServer`/`SSLServer`/`UDPServer` would serve, on every port of
    `svc` with the matching protocol, through tracked listeners. Ports of the other protocol
    get `generic` listeners (the connection is recorded, nothing answers)."""
    from decnet_sensor import generic

    method = getattr(served, "method", "")
    args = getattr(served, "args", ())
    if method not in ("TCP", "SSL", "UDP") or len(args) < 2:
        on_error(svc.name, f"{type(served).__name__} is not a listening service; skipped")
        return []
    handler = args[1]
    tls = (
        (args[2] if len(args) > 2 else served.kwargs.get("contextFactory"))
        if method == "SSL"
        else None
    )  # type: ignore[attr-defined]
    proto = "udp" if method == "UDP" else "tcp"
    out: list[service.Service] = []
    served_udp = False
    for port, p in svc.ports:
        # A datagram protocol instance belongs to one socket: a second UDP port goes generic.
        if p == proto and not (p == "udp" and served_udp):
            out.append(Listener(tracker, svc.name, port, p, handler, tls=tls, on_error=on_error))
            served_udp = served_udp or p == "udp"
        else:
            out.append(generic.listener(tracker, svc.name, port, p, on_error))
    return out


def _log_other_requests(tracker: Tracker, name: str, served: Any) -> None:
    """OpenCanary logs the login page (GET/POST /index.html, the / redirect); every other
    request (a scanner's /admin, /.env, …) gets a `decnet` `request` line from the site."""
    for one in served if isinstance(served, list) else [served]:
        site = one.args[1]
        original = site.log

        def log(request: Any, _original: Any = original) -> None:
            _original(request)
            path = request.path or b""
            if path in (b"/", b"/index.html") and request.method in (b"GET", b"POST"):
                return
            peer = request.getClientAddress()
            host = request.getHost()
            host_port = getattr(host, "port", None)
            agent = request.getHeader(b"user-agent")
            tracker.decnet(
                name,
                {
                    "kind": "request",
                    "method": request.method,
                    "path": request.uri,
                    "user_agent": agent,
                    "src_ip": getattr(peer, "host", None),
                    "src_port": getattr(peer, "port", None),
                    "dst_ip": getattr(host, "host", None),
                    "dst_port": host_port,
                    "detail": {"status": request.code},
                },
                tracker.session_for(getattr(peer, "host", ""), getattr(peer, "port", 0), "tcp"),
            )

        site.log = log
