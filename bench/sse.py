"""Live-event fan-out benchmark: ``python -m bench.sse --clients 1000 --json``.

Starts the real server as a subprocess (``threadline serve``): one process on SQLite under a
temporary ``THREADLINE_HOME`` by default; with ``--processes 2`` two processes on a fresh
PostgreSQL database (``CREATE DATABASE``, dropped afterwards) sharing events and presence through
Redis under a unique key prefix. An API token is minted with ``threadline token create`` and
workspace ``bench`` created through the API.

``--clients`` concurrent SSE streams (``GET /v1/events``) are opened by ``--client-procs`` worker
processes (asyncio + httpx streams; with two servers, streams alternate between them). Once every
stream has received a warm-up event, ``--events`` parts are created through ``POST /v1/parts``
(alternating between servers), one every ``--interval-ms``, each carrying its send time
(``time.time()``) in its name. Each client records, per event, the delay from that send time to
the arrival of the event's ``data:`` line: the end-to-end latency a user sees (request, commit,
publish, fan-out, delivery). ``fanout_*_ms`` measure from the event's first arrival at any
client instead: the spread of one event's fan-out, without the write's own request and commit
(``post_*_ms``). Clients and servers share the machine's cores. ``rss_mb`` is the
largest server process's VmRSS (from ``/proc/<pid>/status``) with every client still connected
after the last event; ``rss_hwm_mb`` is its peak (VmHWM).

Targets (reported, not asserted): p99 < 250 ms, RSS < 300 MB, delivered == expected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import DEFAULT_POSTGRES, machine

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
WORKSPACE = "bench"
VENV_BIN = Path(sys.executable).parent


# --- the worker: one process holding a share of the streams -----------------------------------


async def _worker(urls: list[str], token: str, count: int, offset: int, events: int) -> None:
    """Open ``count`` streams and report, over stdout, ``connected``, ``warm`` and ``complete``;
    on ``stop`` from stdin, print the latencies as one JSON line."""
    arrivals: list[tuple[int, float]] = []  # (event number, time.time() of arrival)
    delivered = 0
    errors: list[str] = []
    connected = 0
    warm = 0
    complete = 0
    all_connected = asyncio.Event()
    all_warm = asyncio.Event()
    all_complete = asyncio.Event()
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(60, read=None)
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    clients = [httpx.AsyncClient(base_url=u, limits=limits, timeout=timeout) for u in urls]
    gate = asyncio.Semaphore(50)  # connects in flight: keep under the listen backlog

    async def one(index: int) -> None:
        nonlocal connected, warm, complete, delivered
        client = clients[(offset + index) % len(clients)]
        seen_warm = False
        mine = 0
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with gate:
                    response = await stack.enter_async_context(
                        client.stream(
                            "GET", "/v1/events", params={"workspace": WORKSPACE}, headers=headers
                        )
                    )
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}")
                connected += 1
                if connected == count:
                    all_connected.set()
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    now = time.time()
                    event = orjson.loads(line[5:])
                    if event.get("type") != "part":
                        continue
                    name = event["data"]["name"]
                    if name.startswith("warm"):
                        if not seen_warm:
                            seen_warm = True
                            warm += 1
                            if warm == count:
                                all_warm.set()
                        continue
                    _tag, number, _sent = name.split()
                    arrivals.append((int(number), now))
                    delivered += 1
                    mine += 1
                    if mine == events:
                        complete += 1
                        if complete == count:
                            all_complete.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # counted and reported: a lost stream is a result
            errors.append(f"{type(exc).__name__}: {exc}")
            connected += 1  # do not block the others' progress
            if connected == count:
                all_connected.set()

    def say(word: str) -> None:
        sys.stdout.write(word + "\n")
        sys.stdout.flush()

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def announce(event: asyncio.Event, word: str) -> None:
        await event.wait()
        say(word)

    announcers = [
        asyncio.create_task(announce(all_connected, "connected")),
        asyncio.create_task(announce(all_warm, "warm")),
        asyncio.create_task(announce(all_complete, "complete")),
    ]
    while (await reader.readline()).strip() not in (b"stop", b""):
        pass
    for task in [*tasks, *announcers]:
        task.cancel()
    await asyncio.gather(*tasks, *announcers, return_exceptions=True)
    for client in clients:
        await client.aclose()
    say(json.dumps({"arrivals": arrivals, "delivered": delivered, "errors": errors[:10]}))


# --- the servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, env: dict[str, str], home: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"{name}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [str(VENV_BIN / "threadline"), "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, limit_s: float = 60) -> None:
        async def poll() -> None:
            async with httpx.AsyncClient(timeout=2) as client:
                while True:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"server exited:\n{self.log.read_text()[-3000:]}")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{self.url}/healthz")).status_code == 200:
                            return
                    await asyncio.sleep(0.1)

        await asyncio.wait_for(poll(), limit_s)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.asynccontextmanager
async def postgres_database() -> Any:
    """A fresh PostgreSQL database (for two processes); dropped afterwards."""
    import asyncpg

    base = os.environ.get("THREADLINE_TEST_DATABASE_URL", DEFAULT_POSTGRES)
    base = base.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"tl_bench_sse_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{base.rpartition('/')[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def drop_redis_keys(url: str, prefix: str) -> None:
    import redis.asyncio as redis

    client: Any = redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- the run ----------------------------------------------------------------------------------


async def _line(process: asyncio.subprocess.Process, limit_s: float) -> str:
    assert process.stdout is not None
    raw = await asyncio.wait_for(process.stdout.readline(), limit_s)
    if not raw:
        raise RuntimeError("a client worker exited early")
    return raw.decode().strip()


async def _expect(workers: list[asyncio.subprocess.Process], word: str, limit_s: float) -> None:
    got = await asyncio.gather(*(_line(w, limit_s) for w in workers))
    if any(g != word for g in got):
        raise RuntimeError(f"expected {word!r} from the workers, got {got}")


async def run(
    *, clients: int, events: int, processes: int, interval_ms: float, client_procs: int
) -> dict[str, Any]:
    raise_fd_limit(clients * 2 + 1024)
    with tempfile.TemporaryDirectory(prefix="tl-bench-sse-") as tmp:
        home = Path(tmp)
        env = {
            **os.environ,
            "THREADLINE_HOME": str(home),
            "THREADLINE_SECRET_KEY": secrets.token_hex(16),
            "THREADLINE_DEMO": "0",
            "THREADLINE_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        }
        for key in ("THREADLINE_DATABASE_URL", "THREADLINE_REDIS_URL", "THREADLINE_REDIS_PREFIX"):
            env.pop(key, None)
        redis_url = None
        async with contextlib.AsyncExitStack() as stack:
            if processes > 1:
                env["THREADLINE_DATABASE_URL"] = await stack.enter_async_context(
                    postgres_database()
                )
                redis_url = os.environ.get("THREADLINE_TEST_REDIS_URL", DEFAULT_REDIS)
                prefix = f"tl-bench-{secrets.token_hex(6)}"
                env["THREADLINE_REDIS_URL"], env["THREADLINE_REDIS_PREFIX"] = redis_url, prefix
                stack.push_async_callback(drop_redis_keys, redis_url, prefix)
            servers: list[Server] = []
            stack.callback(lambda: [s.stop() for s in servers])
            servers.append(Server(env, home, "server-0"))
            await servers[0].ready()  # the first migrates and creates the owner
            servers += [Server(env, home, f"server-{n}") for n in range(1, processes)]
            for server in servers[1:]:
                await server.ready()
            minted = await asyncio.create_subprocess_exec(
                str(VENV_BIN / "threadline"), "token", "create", "admin@localhost",
                env=env, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(minted.communicate(), 60)
            if minted.returncode != 0:
                raise RuntimeError("threadline token create failed")
            token = out.decode().strip()
            auth = {"Authorization": f"Bearer {token}"}
            writers = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=s.url, headers=auth, timeout=60)
                )
                for s in servers
            ]
            r = await writers[0].post("/v1/workspaces", json={"name": WORKSPACE})
            r.raise_for_status()

            # The client workers.
            urls = json.dumps([s.url for s in servers])
            shares = [
                clients // client_procs + (i < clients % client_procs) for i in range(client_procs)
            ]
            workers: list[asyncio.subprocess.Process] = []
            offset = 0
            for share in shares:
                worker = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.sse", "--worker", urls, token, str(share),
                    str(offset), str(events),
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
                    limit=2**28,
                )  # fmt: skip
                workers.append(worker)
                offset += share

            async def stop_workers() -> None:
                for w in workers:
                    if w.returncode is None:
                        w.kill()
                        await w.wait()

            stack.push_async_callback(stop_workers)

            started = time.perf_counter()
            await _expect(workers, "connected", 120)
            # Warm up until every stream has seen an event: its subscription is live.
            warming = asyncio.gather(*(_line(w, 120) for w in workers))
            n = 0
            while not warming.done():
                await writers[n % len(writers)].post(
                    "/v1/parts", json={"workspace": WORKSPACE, "name": f"warm {n}"}
                )
                n += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(warming), 1.0)
            if any(word != "warm" for word in warming.result()):
                raise RuntimeError(f"warm-up failed: {warming.result()}")
            connect_s = time.perf_counter() - started

            # The measured events.
            post_ms: list[float] = []
            sent_at: list[float] = []
            cpu_before = [cpu_s(s.process.pid) for s in servers]
            client_cpu_before = [cpu_s(w.pid) for w in workers]
            events_started = time.perf_counter()
            for i in range(events):
                sent = time.time()
                sent_at.append(sent)
                r = await writers[i % len(writers)].post(
                    "/v1/parts", json={"workspace": WORKSPACE, "name": f"ev {i} {sent:.6f}"}
                )
                r.raise_for_status()
                post_ms.append((time.time() - sent) * 1000)
                await asyncio.sleep(max(0.0, interval_ms / 1000 - (time.time() - sent)))
            with contextlib.suppress(TimeoutError, RuntimeError):
                await _expect(workers, "complete", 30)
            events_s = time.perf_counter() - events_started
            cpu = [cpu_s(s.process.pid) - b for s, b in zip(servers, cpu_before, strict=True)]
            client_cpu = [cpu_s(w.pid) - b for w, b in zip(workers, client_cpu_before, strict=True)]
            rss = [rss_kb(s.process.pid) / 1024 for s in servers]
            hwm = [rss_kb(s.process.pid, "VmHWM") / 1024 for s in servers]

            results = []
            for w in workers:
                assert w.stdin is not None
                w.stdin.write(b"stop\n")
                await w.stdin.drain()
            for w in workers:
                while True:
                    line = await _line(w, 60)
                    if line.startswith("{"):
                        results.append(json.loads(line))
                        break
                await w.wait()

        arrivals = [(n, t) for res in results for n, t in res["arrivals"]]
        first: dict[int, float] = {}
        for n, t in arrivals:
            first[n] = min(t, first.get(n, t))
        latencies = [(t - sent_at[n]) * 1000 for n, t in arrivals]
        spread = [(t - first[n]) * 1000 for n, t in arrivals]
        return {
            "clients": clients,
            "events": events,
            "processes": processes,
            "database": "postgresql" if processes > 1 else "sqlite",
            "redis": redis_url is not None,
            "interval_ms": interval_ms,
            "client_procs": client_procs,
            "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
            "fanout_p50_ms": round(percentile(spread, 50), 1),
            "fanout_p99_ms": round(percentile(spread, 99), 1),
            "post_p50_ms": round(percentile(post_ms, 50), 1),
            "post_max_ms": round(max(post_ms), 1),
            "delivered": sum(res["delivered"] for res in results),
            "expected": clients * events,
            "client_errors": [e for res in results for e in res["errors"]][:10],
            "rss_mb": round(max(rss), 1),
            "rss_mb_each": [round(x, 1) for x in rss],
            "rss_hwm_mb": round(max(hwm), 1),
            "connect_s": round(connect_s, 2),
            "events_s": round(events_s, 2),
            "server_cpu_pct": [round(100 * c / events_s) for c in cpu],
            "client_cpu_pct": [round(100 * c / events_s) for c in client_cpu],
            "machine": machine(),
        }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        urls, token, count, offset, events = sys.argv[2:7]
        raise_fd_limit(int(count) + 1024)
        asyncio.run(_worker(json.loads(urls), token, int(count), int(offset), int(events)))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000, help="concurrent SSE streams")
    parser.add_argument("--events", type=int, default=100, help="events published")
    parser.add_argument("--processes", type=int, default=1, help="server processes (2: Redis)")
    parser.add_argument("--interval-ms", type=float, default=100, help="between two events")
    parser.add_argument(
        "--client-procs",
        type=int,
        default=max(1, min(4, os.cpu_count() or 1)),
        help="worker processes holding the streams",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if shutil.which("threadline", path=str(VENV_BIN)) is None:
        sys.exit(f"no threadline command next to {sys.executable}")
    result = asyncio.run(
        run(
            clients=args.clients,
            events=args.events,
            processes=args.processes,
            interval_ms=args.interval_ms,
            client_procs=args.client_procs,
        )
    )
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>14}: {value}")


if __name__ == "__main__":
    main()
