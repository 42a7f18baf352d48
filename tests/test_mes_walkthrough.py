"""docs/mes.md's walkthrough works as pasted: its shell blocks, run by bash in order from the
repository's top folder, against a real server on a fresh home (SQLite, or PostgreSQL when
configured), from an empty bureau to an order taken through the floor and a piece traced."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live import live_server
from tests.test_first_steps import shell_blocks

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "mes.md"


def walkthrough() -> str:
    text = PAGE.read_text()
    start = text.index("## Walkthrough")
    end = text.index("\n## ", start + 1)
    return text[start:end]


@pytest.mark.skipif(not shutil.which("jq") or not shutil.which("curl"), reason="needs curl and jq")
def test_mes_walkthrough_runs_as_pasted(tmp_path):
    blocks = shell_blocks(walkthrough())
    assert len(blocks) == 8, "one block per step"
    script = "set -euo pipefail\n" + "\n".join(blocks)
    with live_server(tmp_path / "home") as server:
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
        lines = done.stdout.splitlines()
        assert '[{"name":"Default","is_default":true}]' in lines, done.stdout
        assert "confirmed" in lines, done.stdout
        assert '{"queue":1}' in lines, done.stdout
        assert "complete" in lines, done.stdout
        assert '{"status":"complete","printer":"P396 #1"}' in lines, done.stdout

        token = server.token()
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api:
            (order,) = api.get("/mes/order/", params={"filter[name]": "Brackets"}).json()[
                "resources"
            ]
            pieces = api.get("/mes/piece/", params={"filter[order]": order["uri"]}).json()
            prints = api.get("/mes/print/", params={"filter[order]": order["uri"]}).json()
    assert order["status"] == "complete"
    assert [p["status"] for p in pieces["resources"]] == ["complete"] * 3
    assert prints["meta"]["count"] == 6
