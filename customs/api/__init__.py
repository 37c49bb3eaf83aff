"""Customs' HTTP routes, one module per group of use cases; errors mapped in one table."""

from __future__ import annotations

from fastapi import APIRouter

from customs.api import certificates, dashboard, declarations, messages, summaries
from customs.api.problems import PROBLEMS

router = APIRouter(prefix="/v1")
for _module in (messages, certificates, declarations, dashboard, summaries):
    router.include_router(_module.router)

__all__ = ["PROBLEMS", "router"]
