"""The web editor's built bundle at `/`, with the single-page-app fallback to index.html.

The bundle is public (it holds no data; the API behind it needs a token). Without a build, `/`
answers a page that says how to make one.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

BUILD_COMMAND = "cd web && npm ci && npm run build"

# Everything the editor loads is decnet's own (no CDN, no external fonts): anything else is an
# injection. React Flow positions nodes with inline `style` attributes, hence 'unsafe-inline'
# for styles only; scripts stay 'self'. The minimap and icons may use data: images. No site may
# frame the editor (clickjacking a signed-in admin): frame-ancestors, and X-Frame-Options for
# browsers that predate it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class SpaFiles(StaticFiles):
    """Static files; a path that is no file gets index.html, so client-side routes load."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as err:
            if err.status_code != 404:
                raise
            response = await super().get_response("index.html", scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def not_built_page(web_dir: Path) -> str:
    where = html.escape(str(web_dir))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>decnet</title></head><body>"
        "<h1>decnet: the web editor is not built</h1>"
        f"<p>No bundle in <code>{where}</code>. Build it from the source checkout:</p>"
        f"<pre>{html.escape(BUILD_COMMAND)}</pre>"
        "<p>then restart <code>decnet serve</code>. The HTTP API works without it: see "
        "<code>docs/api.md</code>.</p></body></html>"
    )


def mount(app: FastAPI, web_dir: Path) -> None:
    if (web_dir / "index.html").is_file():
        app.mount("/", SpaFiles(directory=web_dir, html=True), name="web")
        return
    page = not_built_page(web_dir)

    @app.get("/{path:path}", include_in_schema=False, response_class=HTMLResponse)
    async def not_built(path: str) -> HTMLResponse:
        return HTMLResponse(page, status_code=404, headers=SECURITY_HEADERS)
