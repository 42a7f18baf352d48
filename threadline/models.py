"""Imports every domain's models so ``Base.metadata`` knows all tables (Alembic, tests)."""

from __future__ import annotations


def load_all_models() -> None:
    """Import each ``models`` module once; the imports register their tables on ``Base``."""
    import threadline.audit.models
    import threadline.auth.models
    import threadline.boms.models
    import threadline.catalog.models
    import threadline.collab.models
    import threadline.jobs.models
    import threadline.mes.crosscut.models
    import threadline.mes.demand.models
    import threadline.mes.files.models
    import threadline.mes.floor.models
    import threadline.mes.floor.reports.models
    import threadline.mes.material.models
    import threadline.mes.people.models
    import threadline.mes.process.models
    import threadline.mes.production.models
    import threadline.mes.quality.models
    import threadline.mes.shop.models
    import threadline.vault.models  # noqa: F401
