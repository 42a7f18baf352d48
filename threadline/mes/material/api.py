"""Routes of the MES material room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
