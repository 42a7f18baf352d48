"""Vault benchmark: ``python -m bench.vault --size-mb 1024 --small-files 1000 --json``.

Starts the real server as a subprocess (``threadline serve``, SQLite, blobs under a temporary
``THREADLINE_HOME`` on the same disk as the test file), signs in as the bootstrap administrator,
mints an API token and creates workspace ``bench``. Then, through HTTP on loopback:

* writes a file of ``--size-mb`` MiB of incompressible data (1 MiB of ``os.urandom`` with a
  counter per MiB) and times ``cp`` of it on the same disk (median of three, each after
  ``sync``): ``cp_mb_s`` is cp *without* fsync (page cache); ``cp_fsync_mb_s`` adds ``sync`` of
  the copy, the fairer floor for the server, which fsyncs every blob before renaming it;
* uploads it ``--runs`` times (default 3; the first is new content, the others deduplicate but
  are still received, hashed, written and fsynced) to ``POST /v1/upload`` as a streamed multipart
  body by curl (or httpx, reading the open file in chunks) and checks the SHA-256 the server
  reports; ``upload_mb_s`` is the median;
* downloads it ``--runs`` times from ``GET /v1/serve/...`` streaming to a file on the same disk
  (median, SHA-256 checked), and as many times with curl discarding the bytes
  (``download_to_null_mb_s``: the server's side alone);
* reports ``sha256_mb_s``, one core hashing in memory: no upload can be faster, since every
  blob is addressed by its SHA-256;
* uploads ``--small-files`` distinct files of ``--small-kb`` KiB with ``--concurrency`` clients.
  Uploads are rate limited per workspace and client address (30/minute), so each run of 25 small
  uploads is sent with its own ``X-Forwarded-For`` address (uvicorn trusts it from 127.0.0.1):
  the figure is the server's throughput, not the limiter's.

The server's RSS is sampled every 50 ms from a background thread; ``rss_growth_mb`` is the peak
during the large upload and download over the baseline taken once the server is up and signed in.
Targets (reported, not asserted): upload and download >= 0.5 x cp, RSS growth < 64 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.common import machine

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = "bench"
SMALL_PER_ADDRESS = 25  # below the 30/minute upload limit per (workspace, client address)
TARGET_RATIO = 0.5
CP_RUNS = 3
TARGET_RSS_MB = 64


class RssSampler(threading.Thread):
    """Samples a process's resident set size every ``interval`` seconds; tracks the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                value = self.rss()
            except psutil.Error:
                return
            with self._lock:
                self.peak = max(self.peak, value)
                self.samples += 1
            self._halt.wait(self.interval)

    def take_peak(self) -> int:
        """The peak since the last call (and reset it to the current RSS)."""
        with self._lock:
            peak, self.peak = self.peak, 0
        return max(peak, self.rss())

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


def tool(name: str) -> str:
    """The absolute path of a coreutils program."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found on PATH")
    return path


def server_usage(process: psutil.Process) -> tuple[float, int, int, float]:
    """The server's CPU seconds, bytes written and read by it, and this process's CPU seconds."""
    times = process.cpu_times()
    io = process.io_counters()
    return times.user + times.system, io.write_bytes, io.read_bytes, time.process_time()


def usage_since(process: psutil.Process, before: tuple[float, int, int, float]) -> dict[str, float]:
    cpu, written, read, client = server_usage(process)
    return {
        "server_cpu_s": round(cpu - before[0], 2),
        "server_disk_write_mb": round((written - before[1]) / MIB, 1),
        "server_disk_read_mb": round((read - before[2]) / MIB, 1),
        "client_cpu_s": round(client - before[3], 2),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_test_file(path: Path, size_mb: int) -> str:
    """``size_mb`` MiB: one random MiB with the block number in its first 8 bytes (every MiB
    distinct, nothing compressible), fsynced; returns the SHA-256."""
    block = bytearray(os.urandom(MIB))
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for n in range(size_mb):
            block[:8] = struct.pack("<Q", n)
            file.write(block)
            digest.update(block)
        file.flush()
        os.fsync(file.fileno())
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def sha256_ceiling(size_mb: int = 512) -> float:
    """MB/s of SHA-256 over in-memory data on one core: an upper bound for any upload."""
    block = os.urandom(MIB)
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(size_mb):
        digest.update(block)
    return mb_s(size_mb * MIB, time.perf_counter() - start)


def mb_s(size_bytes: int, seconds: float) -> float:
    return round(size_bytes / MIB / seconds, 1) if seconds > 0 else float("inf")


class Server:
    """``threadline serve`` in a subprocess with its own home, admin password and port."""

    def __init__(self, home: Path, max_upload_mb: int) -> None:
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.log_path = home.parent / "server.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("THREADLINE_DATABASE_URL", "THREADLINE_BLOB_URL", "THREADLINE_REDIS_URL")
        }
        env |= {
            "THREADLINE_HOME": str(home),
            "THREADLINE_ADMIN_PASSWORD": self.password,
            "THREADLINE_DEMO": "0",
            "MAX_UPLOAD_MB": str(max_upload_mb),
        }
        exe = Path(sys.prefix) / "bin" / "threadline"
        if not exe.exists():
            exe = ROOT / ".venv" / "bin" / "threadline"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [str(exe), "serve", "--port", str(self.port)],
            env=env,
            cwd=home.parent,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def sign_in(server: Server) -> str:
    """Log in as the bootstrap admin, mint an API token, create the workspace; the token."""
    with httpx.Client(base_url=server.base_url, timeout=60) as session:
        login = session.post(
            "/api/auth/login", json={"email": "admin@localhost", "password": server.password}
        )
        login.raise_for_status()
        csrf = session.cookies.get("tl_csrf") or login.json().get("csrfToken")
        minted = session.post("/api/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf})
        minted.raise_for_status()
        token = str(minted.json()["token"])
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        created = client.post("/v1/workspaces", json={"name": WORKSPACE})
        created.raise_for_status()
    return token


def upload_large(client: httpx.Client, path: Path, name: str) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    with path.open("rb") as file:  # httpx streams an open file in chunks
        response = client.post(
            "/v1/upload",
            params={"workspace": WORKSPACE},
            files={"file": (name, file, "application/octet-stream")},
        )
    elapsed = time.perf_counter() - start
    if response.status_code != 201:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text[:500]}")
    return elapsed, dict(response.json())


def download(client: httpx.Client, serve_path: str, target: Path) -> tuple[float, int]:
    start = time.perf_counter()
    size = 0
    with client.stream("GET", serve_path) as response, target.open("wb") as out:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"download failed: {response.status_code} {response.text[:500]}")
        for chunk in response.iter_raw(MIB):
            out.write(chunk)
            size += len(chunk)
    return time.perf_counter() - start, size


def upload_large_curl(
    base_url: str, token: str, path: Path, name: str
) -> tuple[float, dict[str, Any]]:
    """The same upload by curl: measures the server rather than a Python client's CPU."""
    start = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - fixed arguments, our own temporary file
        [tool("curl"), "-sS", "-f", "-X", "POST", "-H", f"Authorization: Bearer {token}",
         "-F", f"file=@{path};filename={name};type=application/octet-stream",
         f"{base_url}/v1/upload?workspace={WORKSPACE}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start, dict(json.loads(out.stdout))


def download_curl(base_url: str, token: str, serve_path: str, target: Path) -> tuple[float, int]:
    start = time.perf_counter()
    subprocess.run(  # noqa: S603 - fixed arguments, our own temporary file
        [tool("curl"), "-sS", "-f", "-o", str(target), "-H", f"Authorization: Bearer {token}",
         f"{base_url}{serve_path}"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start, target.stat().st_size


def upload_small(client: httpx.Client, count: int, size_kb: int, concurrency: int) -> float:
    base = bytearray(os.urandom(size_kb * 1024))

    def one(n: int) -> None:
        data = bytearray(base)
        data[:8] = struct.pack("<Q", n)
        address = f"10.77.{n // SMALL_PER_ADDRESS // 250}.{n // SMALL_PER_ADDRESS % 250 + 1}"
        response = client.post(
            "/v1/upload",
            params={"workspace": WORKSPACE},
            files={"file": (f"part-{n:06d}.stl", bytes(data), "application/octet-stream")},
            headers={"X-Forwarded-For": address},
        )
        if response.status_code != 201:
            raise RuntimeError(f"small upload {n}: {response.status_code} {response.text[:300]}")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(one, n) for n in range(count)]:
            future.result()
    return time.perf_counter() - start


def run(
    size_mb: int,
    small_files: int,
    small_kb: int,
    concurrency: int,
    directory: str | None,
    use_curl: bool = True,
    runs: int = 3,
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="tl-bench-vault-", dir=directory))
    server: Server | None = None
    sampler: RssSampler | None = None
    try:
        big = tmp / "big.stl"
        sha = write_test_file(big, size_mb)
        size = big.stat().st_size

        # cp is noisy on a VM (page-cache cost varies run to run): median of CP_RUNS, each
        # starting with no dirty pages, as the upload and download do.
        copy = tmp / "copy.stl"
        cp_times, sync_times = [], []
        for _ in range(CP_RUNS):
            os.sync()
            start = time.perf_counter()
            subprocess.run([tool("cp"), str(big), str(copy)], check=True)  # noqa: S603
            cp_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([tool("sync"), str(copy)], check=True)  # noqa: S603
            sync_times.append(time.perf_counter() - start)
            copy.unlink()
        cp_s, sync_s = statistics.median(cp_times), statistics.median(sync_times)

        home = tmp / "home"
        server = Server(home, max_upload_mb=max(2048, size_mb * 2))
        server.wait_ready()
        token = sign_in(server)
        sampler = RssSampler(server.process.pid)
        baseline = sampler.rss()
        sampler.start()

        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        with httpx.Client(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
            limits=limits,
        ) as client:
            sampler.take_peak()
            before = server_usage(sampler.process)
            upload_times: list[float] = []
            for run_number in range(runs):
                os.sync()
                name = big.name if run_number == 0 else f"{big.stem}-{run_number}{big.suffix}"
                if use_curl:
                    elapsed, uploaded = upload_large_curl(server.base_url, token, big, name)
                else:
                    elapsed, uploaded = upload_large(client, big, name)
                if uploaded["sha256"] != sha or uploaded["size"] != size:
                    raise RuntimeError(f"server stored {uploaded['sha256']}, expected {sha}")
                upload_times.append(elapsed)
            upload_use = usage_since(sampler.process, before)
            upload_peak = sampler.take_peak()

            target = tmp / "download.stl"
            before = server_usage(sampler.process)
            download_times: list[float] = []
            for _ in range(runs):
                os.sync()
                if use_curl:
                    elapsed, received = download_curl(
                        server.base_url, token, uploaded["path"], target
                    )
                else:
                    elapsed, received = download(client, uploaded["path"], target)
                if received != size or sha256_file(target) != sha:
                    raise RuntimeError("downloaded file differs from the uploaded one")
                target.unlink()
                download_times.append(elapsed)
            download_use = usage_since(sampler.process, before)
            # The server's side alone: the same download with curl discarding the bytes, so the
            # client's writing of 1 GiB to the page cache is not part of the figure.
            null_times = [
                download_curl(server.base_url, token, uploaded["path"], Path(os.devnull))[0]
                for _ in range(runs if use_curl else 0)
            ]
            download_peak = sampler.take_peak()
            os.sync()
            after_large = sampler.rss()

            small_s = upload_small(client, small_files, small_kb, concurrency) if small_files else 0
            small_peak = sampler.take_peak()
        sampler.stop()
        peak = max(upload_peak, download_peak)
        upload_s, download_s = statistics.median(upload_times), statistics.median(download_times)
        upload_mb_s, download_mb_s, cp_mb_s = (
            mb_s(size, upload_s),
            mb_s(size, download_s),
            mb_s(size, cp_s),
        )
        cp_fsync_mb_s = mb_s(size, cp_s + sync_s)
        growth = (peak - baseline) / MIB
        return {
            "benchmark": "vault",
            "database": "sqlite",
            "size_mb": size_mb,
            "upload_mb_s": upload_mb_s,
            "download_mb_s": download_mb_s,
            "cp_mb_s": cp_mb_s,
            "cp_fsync_mb_s": cp_fsync_mb_s,
            "cp_note": "cp_mb_s is cp without fsync (page cache); cp_fsync_mb_s adds sync of the "
            "copy. The server fsyncs every blob.",
            "upload_s": round(upload_s, 3),
            "upload_runs_s": [round(t, 3) for t in upload_times],
            "download_s": round(download_s, 3),
            "download_runs_s": [round(t, 3) for t in download_times],
            "download_to_null_mb_s": (
                mb_s(size, statistics.median(null_times)) if null_times else None
            ),
            "sha256_mb_s": sha256_ceiling(),
            "sha256_note": "one core hashing SHA-256 in memory: no upload can be faster, since "
            "blobs are addressed by it",
            "cp_s": round(cp_s, 3),
            "cp_runs_s": [round(t, 3) for t in cp_times],
            "cp_sync_s": round(sync_s, 3),
            "upload_usage": upload_use,
            "download_usage": download_use,
            "upload_vs_cp": round(upload_mb_s / cp_mb_s, 3),
            "download_vs_cp": round(download_mb_s / cp_mb_s, 3),
            "upload_vs_cp_fsync": round(upload_mb_s / cp_fsync_mb_s, 3),
            "baseline_rss_mb": round(baseline / MIB, 1),
            "peak_rss_mb": round(peak / MIB, 1),
            "rss_growth_mb": round(growth, 1),
            "upload_peak_rss_mb": round(upload_peak / MIB, 1),
            "download_peak_rss_mb": round(download_peak / MIB, 1),
            "rss_after_large_mb": round(after_large / MIB, 1),
            "small_files": small_files,
            "small_kb": small_kb,
            "small_concurrency": concurrency,
            "small_files_s": round(small_s, 3),
            "small_files_per_s": round(small_files / small_s, 1) if small_s else None,
            "small_peak_rss_mb": round(small_peak / MIB, 1),
            "rss_samples": sampler.samples,
            "targets": {
                "upload_ge_half_cp": upload_mb_s >= TARGET_RATIO * cp_mb_s,
                "download_ge_half_cp": download_mb_s >= TARGET_RATIO * cp_mb_s,
                "rss_growth_lt_64mb": growth < TARGET_RSS_MB,
            },
            "machine": machine(),
        }
    except BaseException:
        if server is not None:
            print(server.tail(), file=sys.stderr)
        raise
    finally:
        try:
            if sampler is not None and sampler.is_alive():
                sampler.stop()
        finally:
            try:
                if server is not None:
                    server.stop()
            finally:
                shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024, help="large file size in MiB")
    parser.add_argument("--small-files", type=int, default=1000, help="number of small uploads")
    parser.add_argument("--small-kb", type=int, default=100, help="small file size in KiB")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel small uploads")
    parser.add_argument("--runs", type=int, default=3, help="large uploads and downloads (median)")
    parser.add_argument("--dir", default=None, help="parent of the temporary directory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--client",
        choices=["curl", "httpx"],
        default="curl" if shutil.which("curl") else "httpx",
        help="client for the large transfer (curl measures the server, not Python's client)",
    )
    args = parser.parse_args()
    result = run(
        args.size_mb,
        args.small_files,
        args.small_kb,
        args.concurrency,
        args.dir,
        use_curl=args.client == "curl",
        runs=args.runs,
    )
    result["large_transfer_client"] = args.client
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
