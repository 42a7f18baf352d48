"""Every page the docs, the README and the command line point a reader at exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "README.md",
    ROOT / "threadline" / "cli.py",
    ROOT / "threadline" / "openapi.py",
    *sorted((ROOT / "docs").glob("*.md")),
]
DOCS_PATH = re.compile(r"\bdocs/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b")
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
SHARED_PATH = re.compile(r"\.\./shared/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.(?:md|txt)\b")


def _mentions(pattern: re.Pattern[str]) -> list[tuple[Path, str]]:
    return [(source, found) for source in SOURCES for found in pattern.findall(source.read_text())]


def test_sources_name_docs_pages():
    assert len(_mentions(DOCS_PATH)) > 10


@pytest.mark.parametrize(
    ("source", "path"), _mentions(DOCS_PATH), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_every_docs_path_exists(source, path):
    assert (ROOT / path).is_file(), f"{source.relative_to(ROOT)} names {path}, which does not exist"


def test_relative_links_in_docs_resolve():
    for source in SOURCES:
        if source.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(source.read_text()):
            if "://" in target:
                continue
            assert (source.parent / target).exists(), f"{source.relative_to(ROOT)} links {target}"


@pytest.mark.skipif(not (ROOT.parent / "shared").is_dir(), reason="no shared/ beside this checkout")
def test_reference_paths_exist_beside_the_repository():
    mentions = _mentions(SHARED_PATH)
    assert mentions
    for source, path in mentions:
        assert (ROOT / path).is_file(), f"{source.relative_to(ROOT)} names {path}"


def test_cli_help_names_existing_pages():
    """``threadline import --help`` and friends point at pages that exist."""
    text = (ROOT / "threadline" / "cli.py").read_text()
    assert "docs/catalog-and-boms.md" in text
    assert "docs/boms.md" not in text
