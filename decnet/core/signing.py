"""Webhook signatures: `X-Decnet-Signature: t=UNIX,v1=HEX` (the scheme Stripe uses).

`v1` is HMAC-SHA256 under the output's key of `f"{t}.".encode() + body`: the timestamp is
signed with the body, so a receiver that rejects old timestamps also rejects replays.
docs/observe.md has the receiver's side as a snippet; `verify` here is the same rule.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Decnet-Signature"
TOLERANCE = 300
"""Seconds a receiver should accept between `t` and its own clock."""


def signature(key: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(key, b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def signature_header(key: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(key, timestamp, body)}"


def verify(key: bytes, header: str, body: bytes, now: float, tolerance: float = TOLERANCE) -> bool:
    """Whether `header` signs `body` under `key` within `tolerance` seconds of `now`."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp = fields.get("t", "")
    if not stamp.isascii() or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(fields.get("v1", ""), signature(key, int(stamp), body))
