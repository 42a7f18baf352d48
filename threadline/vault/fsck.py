"""``threadline fsck``: every version's blob is present and hashes to its name.

Blobs no version uses are orphans — the bytes of an upload that was refused or whose server died
before the version was recorded. They are harmless (nothing points at them), so they are
reported and, with ``--repair``, deleted together with abandoned temporary files, but they do not
make the vault unclean. A missing or corrupt blob does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from threadline.blobs import create_blob_store
from threadline.config import Settings
from threadline.db import create_engine, create_sessionmaker
from threadline.mes.demand.models import OrderQuote
from threadline.mes.files import processing as mes_files
from threadline.vault.models import FileVersion, VaultFile

# Temporary files younger than this may belong to an upload in progress.
TEMP_GRACE_S = 3600


@dataclass
class FsckReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    temporary: int = 0
    users: dict[str, str] = field(default_factory=dict)  # sha256 -> one file using it

    @property
    def clean(self) -> bool:
        """Every version's bytes are there and intact."""
        return not (self.missing or self.corrupt)


async def check(settings: Settings, *, repair: bool = False) -> FsckReport:
    """Walk the database's versions and the blob store once each."""
    store = create_blob_store(settings)
    engine = create_engine(settings.effective_database_url)
    report = FsckReport()
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(FileVersion.sha256, VaultFile.name).join(
                    VaultFile, VaultFile.id == FileVersion.file_id
                )
            )
            used: dict[str, list[str]] = defaultdict(list)
            for sha, name in rows.all():
                used[sha].append(name)
            # The MES face's models, design files, documents and quote documents keep their
            # bytes in the same store by digest (no vault version): in use too, never orphans.
            for sha in await mes_files.stored_digests(session):
                used[sha].append(f"MES file {sha[:12]}")
            quotes = select(OrderQuote.sha256).where(OrderQuote.sha256.is_not(None))
            for quote_sha in await session.scalars(quotes):
                if quote_sha is not None:
                    used[quote_sha].append(f"MES order quote {quote_sha[:12]}")
    finally:
        await engine.dispose()
    report.users = {sha: names[0] for sha, names in used.items()}
    for sha in sorted(used):
        report.checked += 1
        try:
            if not await store.verify(sha):
                report.corrupt.append(sha)
        except KeyError:
            report.missing.append(sha)
    async for sha in store.list_all():
        if sha not in used:
            report.orphans.append(sha)
            if repair:
                await store.delete(sha)
    if repair:
        report.temporary = await store.cleanup_temporary(TEMP_GRACE_S)
    return report
