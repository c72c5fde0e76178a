"""No other site can frame the editor (clickjacking a signed-in admin): a page on another
origin that embeds it in an iframe gets Chromium's error page, not the editor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from browser_support import Console
from playwright.sync_api import Page
from serve_support import Server


@pytest.fixture
def other_site(server: Server) -> Iterator[str]:
    """A page on another origin (another port) that frames the editor."""
    page = (  # no favicon: its fetch would race the server's shutdown
        '<!doctype html><title>other</title><link rel="icon" href="data:,">'
        f'<iframe id="f" src="{server.url}/"></iframe>'
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def test_another_site_cannot_frame_the_editor(ui: Page, other_site: str, console: Console) -> None:
    console.allow(r"frame-ancestors|X-Frame-Options|Refused to (display|frame)")
    refused: list[str] = []
    ui.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
    ui.goto(other_site)
    ui.wait_for_load_state("load")
    (framed,) = [f for f in ui.frames if f != ui.main_frame]
    assert framed.url.startswith("chrome-error://"), framed.url
    assert refused, "Chromium did not report the frame-ancestors refusal"
