"""ORM models of durable jobs."""

from __future__ import annotations
