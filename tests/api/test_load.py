"""Load, bounded and loopback only: 100 concurrent SSE clients of a `decnet serve` process
while another process writes 50 events/s for 30 s. Every client must receive every event, in
order; the delivery latency (write -> client) is printed as p50/p99 (not asserted: tests never
assert wall time). The clients parse frames a chunk at a time (api_support.aframes) so that one
client process keeps up with 5,000 deliveries a second; test_sse.py uses httpx-sse."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
from api_support import ServeProcess, aframes, event_writer, make_settings
from event_support import TICK_TYPE

from decnet.engine.tokens import Role, create_token
from decnet.store import Store

CLIENTS = 100
RATE = 50.0
SECONDS = 30
COUNT = int(RATE * SECONDS)


async def client(
    c: httpx.AsyncClient, ready: asyncio.Event, counter: list[int], got: list[tuple[int, float]]
) -> None:
    async with c.stream("GET", "/api/v1/events/stream") as response:
        assert response.status_code == 200
        async for frames in aframes(response):
            for frame in frames:
                if frame.get("event") == "snapshot":
                    counter[0] += 1
                    if counter[0] == CLIENTS:
                        ready.set()
                elif frame.get("event") == TICK_TYPE:
                    data = json.loads(frame["data"])
                    sent = datetime.fromisoformat(data["at"]).timestamp()  # the write's time
                    got.append((int(frame["id"]), time.time() - sent))
                    if data["payload"]["error"] == str(COUNT - 1):
                        return


async def run_clients(url: str, token: str, db: Path) -> list[list[tuple[int, float]]]:
    ready, counter = asyncio.Event(), [0]
    received: list[list[tuple[int, float]]] = [[] for _ in range(CLIENTS)]
    # One client, one connection per stream (a client per stream would build 100 TLS contexts)
    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(30, read=60),
        limits=httpx.Limits(max_connections=CLIENTS + 5),
    ) as c:
        tasks = [asyncio.create_task(client(c, ready, counter, r)) for r in received]
        await asyncio.wait_for(ready.wait(), 60)
        writer = event_writer(db, COUNT, RATE)
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), SECONDS + 90)
        finally:
            assert writer.wait(60) == 0
    return received


def test_100_clients_receive_every_event_in_order(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with Store(settings.db_path) as store:
        _, token = create_token(store, "load", Role.VIEWER)
    server = ServeProcess.start(settings, "--no-watch", DECNET_API_STREAMS_PER_TOKEN=str(CLIENTS))
    try:
        # A thread of its own: a worker that ran the browser tests keeps Playwright's event
        # loop running in the main thread, where asyncio.run refuses to start another.
        with ThreadPoolExecutor(1) as pool:
            clients = run_clients(server.url, token, settings.db_path)
            received = pool.submit(asyncio.run, clients).result()
    finally:
        assert server.stop() is not None
    with Store(settings.db_path) as store:
        table = [e.id for e in store.query_events(0, type_glob=TICK_TYPE, limit=10**6)]
    assert len(table) == COUNT
    for got in received:
        assert [i for i, _ in got] == table  # every event, in order, none repeated
    latencies = sorted(lat for got in received for _, lat in got)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(f"\nSSE delivery, {CLIENTS} clients x {COUNT} events at {RATE:.0f}/s: "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1] * 1000:.1f} ms")  # fmt: skip
