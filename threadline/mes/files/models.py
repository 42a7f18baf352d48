"""ORM models of the MES files room."""

from __future__ import annotations
