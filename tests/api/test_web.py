"""The web editor's bundle at `/`: static files with the SPA fallback, public; a clear page
when it is not built; /api paths never fall back to index.html."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import ApiEnv, start_private


@pytest.fixture
def with_bundle(tmp_path: Path) -> Iterator[ApiEnv]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root>decnet editor</div>")
    (dist / "assets" / "app.js").write_text("console.log('decnet')")
    env = start_private(tmp_path / "srv", web_dir=str(dist))
    try:
        yield env
    finally:
        env.server.stop()


def test_the_bundle_is_served_with_spa_fallback(with_bundle: ApiEnv) -> None:
    with httpx.Client(base_url=with_bundle.url, timeout=10) as c:  # no token: it is public
        index = c.get("/")
        assert index.status_code == 200 and "decnet editor" in index.text
        asset = c.get("/assets/app.js")
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        deep = c.get("/topologies/corp/lan/dmz")  # a client-side route
        assert deep.status_code == 200 and "decnet editor" in deep.text
        assert c.get("/../../etc/passwd").status_code in (200, 404)
        assert "root:" not in c.get("/..%2f..%2fetc/passwd").text
        api = c.get("/api/v1/nope", headers={"Authorization": f"Bearer {with_bundle.admin}"})
        assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_the_editor_is_served_with_a_content_security_policy(with_bundle: ApiEnv) -> None:
    csp = (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    with httpx.Client(base_url=with_bundle.url, timeout=10) as c:
        for path in ("/", "/assets/app.js", "/topologies/corp"):  # a file, an asset, a fallback
            r = c.get(path)
            assert r.status_code == 200
            assert r.headers["content-security-policy"] == csp, path
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert r.headers["x-frame-options"] == "DENY", path


def test_without_a_build_the_root_says_how_to_make_one(api: ApiEnv) -> None:
    with httpx.Client(base_url=api.url, timeout=10) as c:
        page = c.get("/")
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "cd web &amp;&amp; npm ci &amp;&amp; npm run build" in page.text
        assert c.get("/some/route").text == page.text
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert c.get("/healthz").json() == {"status": "ok"}


def test_cors_is_off_unless_configured(api: ApiEnv, tmp_path: Path) -> None:
    origin = "http://127.0.0.1:5173"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"}  # fmt: skip
    with httpx.Client(base_url=api.url, timeout=10) as c:
        r = c.options("/api/v1/topologies", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
        r = c.get(
            "/api/v1/topologies",
            headers={"Origin": origin, "Authorization": f"Bearer {api.viewer}"},
        )
        assert "access-control-allow-origin" not in r.headers
    env = start_private(tmp_path, api_cors_origins=(origin,))
    try:
        with httpx.Client(base_url=env.url, timeout=10) as c:
            r = c.options("/api/v1/topologies", headers=preflight)
            assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
            auth = {"Origin": origin, "Authorization": f"Bearer {env.viewer}"}
            assert (
                c.get("/api/v1/topologies", headers=auth).headers["access-control-allow-origin"]
                == origin
            )
            other = c.options("/api/v1/topologies", headers={**preflight, "Origin": "http://evil"})
            assert other.headers.get("access-control-allow-origin") != "http://evil"
    finally:
        env.server.stop()
