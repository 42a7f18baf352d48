"""ORM models of the MES crosscut room."""

from __future__ import annotations
