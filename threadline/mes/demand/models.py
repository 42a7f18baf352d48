"""ORM models of the MES demand room."""

from __future__ import annotations
