"""Graph views of a topology: Mermaid (for Markdown) and Graphviz DOT.

LANs and deckies are both nodes; every membership is an edge labelled with its IP. Node ids are
positional (`lan0`, `d0`) rather than names, so no name can break the syntax; names appear only
inside quoted, escaped labels.
"""

from __future__ import annotations

from decnet.models import Decky, Lan, Topology


def _lan_label(lan: Lan) -> str:
    suffix = " (DMZ)" if lan.is_dmz else ""
    return f"{lan.name}{suffix}\n{lan.subnet or 'unallocated'}"


def _decky_label(decky: Decky) -> str:
    flags = [flag for flag, on in (("fwd", decky.forwards_l3), ("pub", bool(decky.publish))) if on]
    suffix = f" [{','.join(flags)}]" if flags else ""
    return f"{decky.name}{suffix}"


def _lan_ids(topology: Topology) -> dict[str, str]:
    ids: dict[str, str] = {}
    for pos, lan in enumerate(topology.lans):
        ids.setdefault(lan.name, f"lan{pos}")
    return ids


def _mermaid_text(text: str) -> str:
    # Mermaid labels take HTML entities; quotes would end the label, newlines the statement.
    escaped = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
    return escaped.replace(">", "#gt;").replace("\n", "<br/>")


def to_mermaid(topology: Topology) -> str:
    """A Mermaid flowchart: LANs as rounded boxes, deckies as rectangles, memberships as edges."""
    lan_ids = _lan_ids(topology)
    lines = ["flowchart TB"]
    for pos, lan in enumerate(topology.lans):
        if lan_ids[lan.name] == f"lan{pos}":
            lines.append(f'    lan{pos}(["{_mermaid_text(_lan_label(lan))}"])')
    for pos, decky in enumerate(topology.deckies):
        lines.append(f'    d{pos}["{_mermaid_text(_decky_label(decky))}"]')
        for m in decky.memberships:
            target = lan_ids.get(m.lan)
            if target is not None:
                arrow = "===" if m.lan == decky.home_lan else "---"
                lines.append(f'    d{pos} {arrow}|"{_mermaid_text(m.ip or "?")}"| {target}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(topology: Topology) -> str:
    """A Graphviz graph: LANs as boxes (the DMZ bold), deckies as ellipses, home edges bold."""
    lan_ids = _lan_ids(topology)
    lines = [f'graph "{_dot_text(topology.name)}" {{', "    node [fontname=Helvetica];"]
    for pos, lan in enumerate(topology.lans):
        if lan_ids[lan.name] == f"lan{pos}":
            style = "bold" if lan.is_dmz else "solid"
            label = _dot_text(_lan_label(lan))
            lines.append(f'    lan{pos} [shape=box, style={style}, label="{label}"];')
    for pos, decky in enumerate(topology.deckies):
        lines.append(f'    d{pos} [shape=ellipse, label="{_dot_text(_decky_label(decky))}"];')
        for m in decky.memberships:
            target = lan_ids.get(m.lan)
            if target is not None:
                style = "bold" if m.lan == decky.home_lan else "solid"
                ip = _dot_text(m.ip or "?")
                lines.append(f'    d{pos} -- {target} [style={style}, label="{ip}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
