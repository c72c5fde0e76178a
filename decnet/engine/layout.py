"""Canvas layout of a topology (the web editor's boxes and cards): cosmetic data only."""

from __future__ import annotations

from collections.abc import Mapping

from decnet.engine.topologies import check_name
from decnet.store import Store
from decnet.store.layout import DeckyPoint, LanBox


def set_layout(
    store: Store, name: str, lans: Mapping[str, LanBox], deckies: Mapping[str, DeckyPoint]
) -> int:
    """Set the listed coordinates in any status; the version (returned) does not change."""
    return store.set_layout(check_name(name), lans, deckies)
