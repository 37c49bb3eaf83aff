"""The gateway's API: platform routes (passed through to the services with the caller's scope),
administration, OAuth2 tokens; errors mapped in one table."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api import admin, hooks, oauth, platform, risk_routes, signing
from gateway.api.problems import PROBLEMS

router = APIRouter()
for _module in (platform, risk_routes, admin, hooks, oauth, signing):
    router.include_router(_module.router)

__all__ = ["PROBLEMS", "router"]
