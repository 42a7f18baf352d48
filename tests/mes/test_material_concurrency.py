"""Concurrent consumption of one batch never drives its quantity negative (committed rows, one
connection per consumer: on PostgreSQL the batch row lock serializes them)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

from sqlalchemy import delete
from sqlalchemy.exc import OperationalError

from threadline.auth.models import Membership, Role, User, Workspace
from threadline.db import create_sessionmaker
from threadline.errors import Invalid
from threadline.mes.face import MesContext
from threadline.mes.material import service
from threadline.mes.material.models import MaterialBatch
from threadline.mes.shop.models import Material


async def test_concurrent_consumption_never_goes_negative(engine) -> None:
    sessionmaker = create_sessionmaker(engine)
    tag = uuid.uuid4().hex[:8]
    user = User(
        email=f"race-{tag}@example.com", username=f"race-{tag}", name="Race", password_hash="x"
    )
    workspace = Workspace(name=f"race-{tag}")
    async with sessionmaker() as session:
        session.add_all([user, workspace])
        await session.flush()  # ids for the rows that point at them
        session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.manager))
        stuff = Material(workspace_id=workspace.id, name="PA12", type="base")
        session.add(stuff)
        await session.flush()  # the batch points at the material
        batch = MaterialBatch(workspace_id=workspace.id, material_id=stuff.id, quantity=10.0)
        session.add(batch)
        await session.commit()
    batch_id, workspace_id = batch.id, workspace.id
    try:

        async def consume() -> str:
            async with sessionmaker() as session:
                ctx = MesContext(
                    session=session,
                    user=await session.get(User, user.id),  # type: ignore[arg-type]
                    runtime=cast(Any, None),
                    base_url="http://test",
                    roles={workspace_id: Role.manager},
                )
                try:
                    await service.consume_for_run(
                        ctx, batch_id, 3.0, run_uri="http://test/mes/run/x/", printer_id=None
                    )
                    await session.commit()
                    return "ok"
                except Invalid as error:
                    assert error.code == "MATERIAL_BATCH_INSUFFICIENT"
                    return "insufficient"
                except OperationalError:  # SQLite refuses a second writer ("database is locked")
                    return "busy"

        results = await asyncio.gather(*(consume() for _ in range(8)))
        async with sessionmaker() as session:
            final = await session.get(MaterialBatch, batch_id)
            assert final is not None
            assert results.count("ok") <= 3
            assert final.quantity == 10.0 - 3.0 * results.count("ok") >= 0
            if engine.dialect.name == "postgresql":
                assert results.count("ok") == 3 and results.count("insufficient") == 5
    finally:
        async with sessionmaker() as session:
            await session.execute(delete(Workspace).where(Workspace.id == workspace_id))
            await session.execute(delete(User).where(User.id == user.id))
            await session.commit()
