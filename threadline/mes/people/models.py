"""ORM models of the MES people room."""

from __future__ import annotations
