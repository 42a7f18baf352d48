"""Who is connected to a workspace right now.

A user is online while at least one of their live event streams is open. This registry counts
streams per (workspace, username) in this process; the SSE endpoint calls :meth:`connect` and
:meth:`disconnect`.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict

from fastapi import Request


class Presence:
    """In-process presence registry."""

    def __init__(self) -> None:
        self._streams: defaultdict[uuid.UUID, Counter[str]] = defaultdict(Counter)

    async def connect(self, workspace_id: uuid.UUID, username: str) -> bool:
        """Count one more stream; True when the user just came online."""
        streams = self._streams[workspace_id]
        streams[username] += 1
        return streams[username] == 1

    async def disconnect(self, workspace_id: uuid.UUID, username: str) -> bool:
        """Count one stream fewer; True when the user just went offline."""
        streams = self._streams[workspace_id]
        streams[username] -= 1
        if streams[username] > 0:
            return False
        del streams[username]
        return True

    async def online_usernames(self, workspace_id: uuid.UUID) -> set[str]:
        return set(self._streams.get(workspace_id, ()))


def get_presence(request: Request) -> Presence:
    """Dependency: the process's presence registry."""
    presence: Presence = request.app.state.runtime.presence
    return presence
