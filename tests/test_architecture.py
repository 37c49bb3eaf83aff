"""The architecture, enforced: pure domains, contract-only schemas, services that don't touch."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from clearway.registry import SERVICES

ROOT = Path(__file__).resolve().parents[1]
SERVICE_PACKAGES = {s.package for s in SERVICES}
IO_LIBRARIES = {
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "starlette",
    "kafka",
    "httpx",
    "lxml",
    "psycopg",
    "alembic",
    "uvicorn",
    "socket",
    "subprocess",
    "requests",
}
STDLIB = set(sys.stdlib_module_names)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


DOMAIN_MODULES = [p for pkg in SERVICE_PACKAGES for p in _modules(pkg) if "domain" in p.parts]


def test_there_are_domain_modules_to_check():
    assert DOMAIN_MODULES


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_domain_module_does_no_io_and_reads_no_clock(path):
    imported = _imports(path)
    assert not imported & IO_LIBRARIES, f"{path} imports {imported & IO_LIBRARIES}"
    other = imported & (SERVICE_PACKAGES | {"messaging", "clearway"})
    assert other <= {path.relative_to(ROOT).parts[0]}, f"{path} imports {other}"
    source = path.read_text()
    for clock in ("datetime.now(", "time.time(", "date.today(", "utc_now("):
        assert clock not in source, f"{path} reads the clock ({clock})"


@pytest.mark.parametrize("package", sorted(SERVICE_PACKAGES))
def test_a_service_does_not_import_another_service(package):
    for path in _modules(package):
        others = _imports(path) & (SERVICE_PACKAGES - {package})
        assert not others, f"{path.relative_to(ROOT)} imports {others}"


def test_schemas_import_pydantic_and_the_standard_library_only():
    for path in _modules("schemas"):
        extra = _imports(path) - STDLIB - {"pydantic", "schemas", "__future__"}
        assert not extra, f"{path.relative_to(ROOT)} imports {extra}"


def test_the_messaging_runtime_knows_no_service():
    for path in _modules("messaging"):
        assert not _imports(path) & SERVICE_PACKAGES, path


def test_no_module_is_a_dumping_ground():
    names = {p.name for p in ROOT.glob("*/**/*.py") if ".venv" not in p.parts}
    assert not names & {"utils.py", "helpers.py", "common.py", "misc.py"}
