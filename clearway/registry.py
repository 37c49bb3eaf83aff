"""The service registry: what `clearway up` and docker-compose run for each service.

Adding a service is adding its folder and one entry here (plus its topics in schemas/topics.py
and its containers in docker-compose.yml).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service: its API factory, optional worker module and optional database."""

    name: str
    api: str  # "package.module:factory" for uvicorn --factory
    worker: str | None  # module run as `python -m`
    has_database: bool
    env_prefix: str

    @property
    def package(self) -> str:
        return self.api.split(".", 1)[0]


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("customs", "customs.app:create_app", "customs.worker", True, "CUSTOMS_"),
    ServiceSpec("risk", "risk.app:create_app", "risk.worker", True, "RISK_"),
    ServiceSpec("gateway", "gateway.app:create_app", "gateway.worker", True, "GATEWAY_"),
)

# The gateway is told where every other service's API answers: GATEWAY_<NAME>_URL.
PUBLIC_SERVICE = "gateway"
