"""HTTP API benchmark: event write -> SSE delivery latency, and GET /topologies/{name} throughput.

1. Latency: `decnet serve` runs in its own process on a fresh database; another process appends
   events at a fixed rate (each carries its write time); 1, 10 and 100 clients on the global
   stream record write -> delivery per event. Prints p50/p99/max per client count. The clients
   parse frames a chunk at a time, so the client process is not what is measured.
2. Throughput: `GET /api/v1/topologies/{name}` on a ~1,000-decky topology (one keep-alive
   connection, then 4 in parallel) against the same read through the library in-process
   (`show_topology` + JSON, what the route computes) in the same run; prints the ratio.

Run: .venv/bin/python bench/api.py [--seconds S] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

from decnet.core.catalog import load_catalog
from decnet.engine.tokens import Role, create_token
from decnet.engine.topologies import generate_topology, show_topology
from decnet.models import GeneratorParams
from decnet.store import Store

DECNET = Path(sys.executable).with_name("decnet")
BIG = GeneratorParams(name="bench-1k", depth=4, branching=3, deckies_min=25, deckies_max=25)
WRITER = """
import sys, time
from decnet import events as ev
from decnet.store import Store
store = Store(sys.argv[1])
count, rate = int(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
for i in range(count):  # a declared type no consumer acts on; `at` is the write's time
    store.append_event(ev.WatchError(chore="bench", error=str(i)))
    delay = start + (i + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""


class Server:
    def __init__(self, tmp: Path, streams: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
        env |= {"DECNET_HOME": str(tmp), "DECNET_DB": str(tmp / "decnet.db"),
                "DECNET_API_STREAMS_PER_TOKEN": str(streams)}  # fmt: skip
        self.log = (tmp / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [str(DECNET), "serve", "--bind", "127.0.0.1:0", "--no-watch"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if m := re.search(r"listening on (http://127\.0\.0\.1:\d+)", line):
                self.url = m[1]
                break
        else:
            raise SystemExit(f"decnet serve did not start: see {tmp / 'serve.log'}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self.log.close()


def frames(chunk_buffer: list[str], text: str) -> list[dict[str, str]]:
    buffer = chunk_buffer[0] + text
    *done, chunk_buffer[0] = buffer.split("\r\n\r\n")
    out = []
    for frame in done:
        fields = {}
        for line in frame.split("\r\n"):
            if line and not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value
        out.append(fields)
    return out


async def one_client(c: httpx.AsyncClient, count: int, ready: list[int], got: list[float]) -> None:
    buffer = [""]
    async with c.stream("GET", "/api/v1/events/stream") as r:
        async for text in r.aiter_text():
            for f in frames(buffer, text):
                if f.get("event") == "snapshot":
                    ready[0] += 1
                elif f.get("event") == "watch.error":
                    data = json.loads(f["data"])
                    got.append(time.time() - datetime.fromisoformat(data["at"]).timestamp())
                    if data["payload"]["error"] == str(count - 1):
                        return


async def latency(
    url: str, token: str, db: Path, clients: int, count: int, rate: float
) -> list[float]:
    ready, results = [0], [[] for _ in range(clients)]  # type: list[int], list[list[float]]
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(30, read=120), limits=httpx.Limits(max_connections=clients + 5),
    ) as c:  # fmt: skip
        tasks = [asyncio.create_task(one_client(c, count, ready, r)) for r in results]
        while ready[0] < clients:
            await asyncio.sleep(0.05)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(count), str(rate)])
        await asyncio.wait_for(asyncio.gather(*tasks), count / rate + 120)
        writer.wait(60)
    return sorted(x for r in results for x in r)


def throughput(url: str, token: str, seconds: float, parallel: int) -> float:
    done = [0] * parallel
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            while time.monotonic() < stop:
                r = c.get(f"/api/v1/topologies/{BIG.name}")
                assert r.status_code == 200
                done[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def library(db: Path, seconds: float) -> tuple[float, float]:
    catalog = load_catalog()
    rates = []
    with Store(db) as store:
        for with_json in (False, True):
            n, stop = 0, time.monotonic() + seconds
            while time.monotonic() < stop:
                view = show_topology(store, BIG.name, catalog=catalog)
                if with_json:
                    view.model_dump_json()
                n += 1
            rates.append(n / seconds)
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="Write phase per run.")
    parser.add_argument("--rate", type=float, default=50.0, help="Events per second.")
    args = parser.parse_args()
    count = int(args.seconds * args.rate)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "decnet.db"
        with Store(db) as store:
            _, token = create_token(store, "bench", Role.ADMIN)
            t = generate_topology(store, BIG, catalog=load_catalog())
        server = Server(tmp, streams=200)
        try:
            print(f"SSE delivery (write -> client), {count} events at {args.rate:.0f}/s")
            print(f"{'clients':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
            for clients in (1, 10, 100):
                lat = asyncio.run(latency(server.url, token, db, clients, count, args.rate))
                p50, p99 = statistics.median(lat), lat[int(len(lat) * 0.99)]
                print(f"{clients:>8} {p50 * 1e3:>8.1f} {p99 * 1e3:>8.1f} {lat[-1] * 1e3:>8.1f}")
            print(f"\nGET /topologies/{{name}}, {len(t.deckies)} deckies, {len(t.lans)} LANs")
            bare, with_json = library(db, 3.0)
            for parallel in (1, 4):
                rps = throughput(server.url, token, 5.0, parallel)
                print(
                    f"  API, {parallel} connection(s): {rps:8.1f} req/s   ratio to "
                    f"library+JSON {rps / with_json:.2f}, to library {rps / bare:.2f}"
                )
            print(f"  library in-process: show_topology {bare:8.1f}/s, + JSON {with_json:8.1f}/s")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
