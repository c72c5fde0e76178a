"""The HTTP API (SPEC §11, docs/api.md): FastAPI over the same library calls as the CLI.

`create_app(config)` builds the app; `decnet serve` runs it on uvicorn (`decnet.api.server`).
Nothing is created at import time.
"""
