"""Routes of the MES floor room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
