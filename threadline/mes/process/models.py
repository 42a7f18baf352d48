"""ORM models of the MES process room."""

from __future__ import annotations
