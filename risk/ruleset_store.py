"""Rule set versions changed through the API: the one in force, each change audited.

The rule set file (RISK_RULES_FILE, or the shipped default) is the seed: it is in force until a
first version is posted. Each posted version is validated exactly like the file and stored with
who posted it, when, why, the previous and the new document and the fields that changed; the
newest is in force. Workers read which version is in force in each batch's transaction (one
indexed row) and parse a document only when the version changes, so a change applies from the
next batch on, without a restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from risk.db import RuleSetChange
from risk.domain.ruleset import RuleSet
from risk.ruleset_file import canonical_json, parse_ruleset, ruleset_document
from schemas.envelope import utc_now


class VersionConflict(RuntimeError):
    """The posted version cannot be put in force (already used, or another change came first)."""


class VersionNotFound(LookupError):
    """No rule set has that version."""


@dataclass(frozen=True)
class InForce:
    """The rule set in force, its document, and the change that put it there (None: the file)."""

    rules: RuleSet
    document: dict[str, Any]
    change: RuleSetChange | None


_LATEST = select(col(RuleSetChange.seq)).order_by(col(RuleSetChange.seq).desc()).limit(1)


class ActiveRuleSet:
    """The rule set in force, for a worker: cached by version, re-read when a change lands."""

    def __init__(self, seed: RuleSet) -> None:
        self.seed = seed
        self._cached: tuple[int, RuleSet] | None = None

    def __call__(self, session: Session) -> RuleSet:
        """The rule set in force as this session sees it."""
        latest = session.execute(_LATEST).scalar_one_or_none()
        if latest is None:
            return self.seed
        if self._cached is None or self._cached[0] != latest:
            change = session.get(RuleSetChange, latest)
            assert change is not None
            self._cached = (latest, parse_ruleset(change.document)[0])
        return self._cached[1]


def in_force(session: Session, seed: RuleSet) -> InForce:
    """The rule set in force, with its document and the change that put it in force."""
    change = session.execute(
        select(RuleSetChange).order_by(col(RuleSetChange.seq).desc()).limit(1)
    ).scalar_one_or_none()
    if change is None:
        return InForce(seed, ruleset_document(seed), None)
    rules, document = parse_ruleset(change.document)
    return InForce(rules, document, change)


def current(engine: Engine, seed: RuleSet) -> InForce:
    """The rule set in force."""
    with Session(engine) as session:
        return in_force(session, seed)


def change(
    engine: Engine,
    seed: RuleSet,
    *,
    document: dict[str, Any],
    actor: str,
    reason: str,
    based_on: str | None = None,
) -> RuleSetChange:
    """Put a new rule set version in force, audited; RuleSetInvalid names each field broken."""
    _, normalised = parse_ruleset(json.dumps(document, ensure_ascii=False))
    with Session(engine, expire_on_commit=False) as session, session.begin():
        before = in_force(session, seed)
        version = normalised["version"]
        if based_on is not None and based_on != before.rules.version:
            raise VersionConflict(
                f"the change was based on version {based_on}, but {before.rules.version} is in "
                "force now; read it again and redo the change"
            )
        # a version names one document forever: posted ones, and the files that were in force
        used = session.execute(
            select(col(RuleSetChange.seq)).where(
                (col(RuleSetChange.version) == version)
                | (col(RuleSetChange.previous_version) == version)
            )
        ).first()
        if used is not None or version in (before.rules.version, seed.version):
            raise VersionConflict(
                f"version {version} is already used; every change needs a new version"
            )
        record = RuleSetChange(
            seq=0 if before.change is None else before.change.seq + 1,
            version=version,
            document=canonical_json(normalised),
            previous_version=before.rules.version,
            previous_document=canonical_json(before.document),
            changes=json.dumps(diff(before.document, normalised), ensure_ascii=False),
            actor=actor,
            reason=reason,
            changed_at=utc_now(),
        )
        session.add(record)
        try:
            session.flush()
        except IntegrityError:
            # Another change took this sequence number (or version) between our read and write.
            raise VersionConflict(
                "another rule set change was made at the same time; read the rule set again"
            ) from None
    return record


def history(engine: Engine) -> list[RuleSetChange]:
    """Every change made through the API, newest first."""
    with Session(engine) as session:
        return list(
            session.execute(select(RuleSetChange).order_by(col(RuleSetChange.seq).desc())).scalars()
        )


def version(engine: Engine, seed: RuleSet, name: str) -> InForce:
    """One rule set version, the file's or a posted one, with the change that made it."""
    with Session(engine) as session:
        found = session.execute(
            select(RuleSetChange).where(col(RuleSetChange.version) == name)
        ).scalar_one_or_none()
    if found is not None:
        rules, document = parse_ruleset(found.document)
        return InForce(rules, document, found)
    if name == seed.version:
        return InForce(seed, ruleset_document(seed), None)
    raise VersionNotFound(f"there is no rule set version {name}")


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields whose value changed, with the old and the new value."""
    return [
        {"field": name, "old": old.get(name), "new": new.get(name)}
        for name in sorted(old.keys() | new.keys())
        if name != "version" and old.get(name) != new.get(name)
    ]
