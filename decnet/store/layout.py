"""Canvas coordinates of LANs and deckies: cosmetic, so no version bump, any status.

The coordinates are outside the desired hash (SPEC §5) and outside the design: changing them
never conflicts with an edit, so it takes no `expected_version` and leaves `version` alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from decnet import events as ev
from decnet.errors import InvalidRequest
from decnet.store import topologies
from decnet.store.base import StoreBase

LanBox = tuple[float | None, float | None, float | None, float | None]
"""x, y, w, h of a LAN's box (None clears one)."""
DeckyPoint = tuple[float | None, float | None]
"""x, y of a decky's card."""


class LayoutMixin(StoreBase):
    def set_layout(
        self, name: str, lans: Mapping[str, LanBox], deckies: Mapping[str, DeckyPoint]
    ) -> int:
        """Set the coordinates of the listed LANs and deckies (others keep theirs); returns the
        topology's (unchanged) version. An unknown LAN or decky writes nothing."""
        with self.transaction() as conn:
            ref = topologies.find(conn, name)
            for table, wanted in (("lan", lans), ("decky", deckies)):
                known = {
                    row[0]
                    for row in conn.execute(
                        f"SELECT name FROM {table} WHERE topology_id = ?", (ref.id,)
                    )
                }
                for missing in sorted(set(wanted) - known):
                    raise InvalidRequest(
                        f"topology {name!r} has no {table} {missing!r}",
                        field=f"{'lans' if table == 'lan' else 'deckies'}.{missing}",
                        hint=f"see `decnet topology show {name}` for its names",
                    )
            conn.executemany(
                "UPDATE lan SET x = ?, y = ?, w = ?, h = ? WHERE topology_id = ? AND name = ?",
                [(*box, ref.id, lan) for lan, box in lans.items()],
            )
            conn.executemany(
                "UPDATE decky SET x = ?, y = ? WHERE topology_id = ? AND name = ?",
                [(*point, ref.id, decky) for decky, point in deckies.items()],
            )
            payload = ev.TopologyLayout(version=ref.version, lans=len(lans), deckies=len(deckies))
            self._event(conn, payload, name, ref.id)
            return ref.version
