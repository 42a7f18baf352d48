"""docs/first-steps.md works as pasted: its shell blocks, run by bash in order from the repository's
top folder, against a real server on a fresh home (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live import live_server

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "first-steps.md"


def shell_blocks(markdown: str) -> list[str]:
    """The fenced ```sh blocks of a page, in order."""
    return re.findall(r"^```sh\n(.*?)^```$", markdown, flags=re.DOTALL | re.MULTILINE)


@pytest.mark.skipif(not shutil.which("jq") or not shutil.which("curl"), reason="needs curl and jq")
def test_first_steps_run_as_pasted(tmp_path):
    blocks = shell_blocks(PAGE.read_text())
    assert len(blocks) == 7, "one block per step"
    script = "set -euo pipefail\n" + "\n".join(blocks)

    with live_server(tmp_path / "home") as server:
        # The reader's shell: the server's THREADLINE_HOME (the CLI mints the token there), and
        # PATH as `make run` leaves it (.venv/bin also holds this interpreter's threadline).
        env = server.env | {
            "TL": server.url,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        done = subprocess.run(  # noqa: S603 - bash running the page's own lines
            ["/bin/bash", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (done.stdout, done.stderr, server.log_tail())

        token = server.token()
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api:
            members = api.get("/v1/users", params={"workspace": "acme"}).json()["items"]
            boms = api.get("/v1/boms", params={"workspace": "acme"}).json()["items"]
            (bom,) = boms
            part = api.get(f"/v1/parts/{bom['assemblyPartId']}").json()
            tree = api.get(f"/v1/boms/{bom['id']}").json()

    roles = {m["email"]: m["role"] for m in members}
    assert roles == {"admin@localhost": "owner", "bob@example.com": "engineer"}
    assert (bom["revision"], bom["status"]) == ("A", "approved")
    assert tree["lineCount"] >= 39
    assert part["partNumber"] == "BITAXE-ULTRA"
    assert [(f["name"], f["revision"]) for f in part["files"]] == [("bitaxe-ultra.step", "A")]
    # What the page prints is what it says it does.
    printed = done.stdout.strip().splitlines()
    assert "bob@example.com engineer" in printed
    assert printed[-5:] == [
        "submitted",
        "approved",
        "submitted",
        "approved",
        f'{{"revision":"A","status":"approved","lineCount":{tree["lineCount"]}}}',
    ]
