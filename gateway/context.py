"""What the gateway's routes share: settings, its database, identities, upstream clients."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine

from clearway.idempotency import Keeper
from gateway.box import SecretBox
from gateway.identity import Identities
from gateway.settings import GatewaySettings
from gateway.upstream import Upstream


@dataclass
class Gateway:
    settings: GatewaySettings
    engine: Engine
    box: SecretBox | None
    identities: Identities
    idempotency: Keeper
    customs: Upstream
    risk: Upstream


def gateway_of(request: Request) -> Gateway:
    found: Gateway = request.app.state.gateway
    return found
