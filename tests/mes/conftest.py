"""MES face fixtures: a manager of bureau ``acme`` and helpers that speak the face's shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Actor, MakeActor


@dataclass
class Mes:
    """A signed-in MES client: ``await mes.create("location", {...})`` returns the new URI."""

    actor: Actor

    @property
    def client(self) -> httpx.AsyncClient:
        return self.actor.client

    async def create(self, kind: str, body: dict[str, Any]) -> str:
        response = await self.client.post(f"/mes/{kind}/", json=body)
        assert response.status_code == 204, response.text
        return response.headers["location"]

    async def get(self, uri: str) -> dict[str, Any]:
        response = await self.client.get(uri)
        assert response.status_code == 200, response.text
        return response.json()

    async def list(self, kind: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(f"/mes/{kind}/", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def update(self, uri: str, body: dict[str, Any]) -> None:
        response = await self.client.put(uri, json=body)
        assert response.status_code == 204, response.text

    async def delete(self, uri: str) -> None:
        response = await self.client.delete(uri)
        assert response.status_code == 204, response.text


@pytest.fixture
async def mes(make_actor: MakeActor) -> Mes:
    """A manager of bureau ``acme``."""
    return Mes(await make_actor("mgr", workspace="acme", role="manager"))


@pytest.fixture
async def other_mes(make_actor: MakeActor) -> Mes:
    """A manager of another bureau, ``rival``."""
    return Mes(await make_actor("rival", workspace="rival", role="manager"))
