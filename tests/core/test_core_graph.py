"""Graph views: every LAN and decky present, labels escaped, output deterministic."""

from __future__ import annotations

from decnet.core.catalog import load_catalog
from decnet.core.generate import generate
from decnet.core.graph import to_dot, to_mermaid
from decnet.models import Decky, GeneratorParams, Lan, Membership, Topology

PARAMS = GeneratorParams(name="g", depth=3, branching=2, deckies_max=2, cross_p=0.5, seed=11)


def test_every_lan_decky_and_ip_appears_in_both_formats() -> None:
    t = generate(PARAMS, load_catalog())
    for text in (to_mermaid(t), to_dot(t)):
        for lan in t.lans:
            assert lan.name in text and str(lan.subnet) in text
        for d in t.deckies:
            assert d.name in text
            assert all(str(m.ip) in text for m in d.memberships)
    edges = sum(len(d.memberships) for d in t.deckies)
    assert to_dot(t).count(" -- ") == edges
    assert to_mermaid(t).count("|") == 2 * edges


def test_output_is_deterministic() -> None:
    a, b = generate(PARAMS, load_catalog()), generate(PARAMS, load_catalog())
    assert to_mermaid(a) == to_mermaid(b)
    assert to_dot(a) == to_dot(b)


def test_hostile_names_stay_inside_quoted_labels() -> None:
    t = Topology(
        name='x" { evil',
        lans=[Lan(name='a"];\nz', is_dmz=True)],
        deckies=[Decky(name="d<b>", home_lan='a"];\nz', memberships=[Membership(lan='a"];\nz')])],
    )
    dot, mermaid = to_dot(t), to_mermaid(t)
    assert 'graph "x\\" { evil" {' in dot
    assert 'label="a\\"];\\nz (DMZ)\\nunallocated"' in dot
    assert len(dot.splitlines()) == 6
    assert "a#quot;];<br/>z (DMZ)" in mermaid and "d#lt;b#gt;" in mermaid
    assert len(mermaid.splitlines()) == 4
