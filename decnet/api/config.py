"""What `create_app` needs beyond the site settings: the server's own knobs."""

from __future__ import annotations

from dataclasses import dataclass, field

from decnet.engine.collect import CollectOptions
from decnet.engine.watch import WatchOptions
from decnet.settings import PROJECT_ROOT, Settings

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class ApiConfig:
    settings: Settings
    watch: bool = True
    """Run the reconciler of live mutations in-process (`decnet serve --no-watch` turns it off)."""
    outputs: bool = True
    """Deliver to the outputs in-process (`decnet serve --no-outputs` turns it off)."""
    web_dir: str = str(PROJECT_ROOT / "web" / "dist")
    """The web editor's built bundle, served at `/`."""
    poll_seconds: float = 0.1
    """How often the one tailer of the event table looks for new rows."""
    keepalive_seconds: float = 15.0
    ticket_seconds: float = 60.0
    login_code_seconds: float = 600.0
    token_check_seconds: float = 1.0
    """How often open streams re-check that their token is still valid (revocation)."""
    prune_every_seconds: float = 3600.0
    max_pending_events: int = 10_000
    """Events buffered for one slow stream before it is resynchronised from the table."""
    watch_options: WatchOptions = field(default_factory=WatchOptions)
    """The in-process reconciler's knobs (interval, drift scans, inventory)."""
    collect: bool = False
    """Run the collector in-process (`decnet serve` does unless `--no-collect`; off by default
    here so an app built by a test or a script reads no host unless asked)."""
    collect_options: CollectOptions = field(default_factory=CollectOptions)
    stop_grace_seconds: float = 10.0
    """On shutdown, how long the running job may take to finish before it is cancelled."""
    header_seconds: float = 10.0
    """How long a connection may take to send a request's line and headers (from its start,
    or from the previous response): a slower one is closed (decnet.api.server)."""
    body_seconds: float = 30.0
    """How long a request body may take to arrive in full: a slower one is 408."""
