"""Routes of the MES process room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
