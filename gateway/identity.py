"""Who is calling: API keys, OAuth2 access tokens, browser sessions, and signed requests.

Everything here reads or writes the gateway's own database; the rules (key formats, signatures,
rate limits, roles) are plain functions in `gateway.domain`.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.database import as_utc
from gateway.box import SecretBox
from gateway.db import AccessToken, ApiClient, RequestNonce, Tenant, TenantCode, User, WebSession
from gateway.domain import credentials, signing
from gateway.domain.access import Kind, Principal
from gateway.domain.ratelimit import Bucket, take
from schemas.envelope import utc_now

SESSION_COOKIE = "cw_session"
CSRF_HEADER = "X-CSRF-Token"
_HASHER = PasswordHasher()
# A hash to verify against when the login does not exist, so both answers take as long.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class Unauthenticated(Exception):
    """No valid credentials (401)."""


class TooLarge(Exception):
    """A body over the gateway's size cap (413)."""


class Forbidden(PermissionError):
    """Authenticated, but not allowed to do this (403)."""


class BadSignature(Exception):
    """A signed request whose signature, timestamp or nonce is refused (401)."""

    def __init__(self, error: signing.SignatureError) -> None:
        super().__init__(error.message)
        self.error = error


class RateLimited(Exception):
    """Too many requests from one client (429 with Retry-After)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class LockedOut(Exception):
    """Too many failed sign-ins in a row: the account is locked for a while."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat(timespec='seconds')}")
        self.until = until


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _tenant_principal(session: Session, tenant_id: str, name: str, via: str) -> Principal:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not tenant.active:
        raise Unauthenticated("the enterprise of these credentials is not active")
    codes = session.execute(
        select(col(TenantCode.code)).where(col(TenantCode.tenant_id) == tenant_id)
    ).scalars()
    return Principal(
        kind=Kind.TENANT,
        name=name,
        tenant_id=tenant_id,
        codes=frozenset(codes),
        roles=frozenset(tenant.roles.split()),
        via=via,
    )


def user_principal(session: Session, user: User, via: str = "session") -> Principal:
    kind = Kind(user.kind)
    if kind is Kind.TENANT:
        assert user.tenant_id is not None
        return _tenant_principal(session, user.tenant_id, user.login, via)
    roles = frozenset([user.officer_role]) if user.officer_role else frozenset()
    return Principal(kind=kind, name=user.login, roles=roles, via=via)


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """An authenticated machine client, with what signed requests need."""

    principal: Principal
    client_id: str
    signing_secret: str | None
    require_signature: bool


class Identities:
    """Authentication against the gateway's database, with a short cache of verified keys.

    A revoked or rotated key stops working within `cache_s` seconds on every gateway process.
    """

    def __init__(self, engine: Engine, box: SecretBox | None, *, cache_s: float = 5.0) -> None:
        self.engine = engine
        self.box = box
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, ClientIdentity]] = {}
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    # -- machine clients -------------------------------------------------------------------
    def cached_client(self, credential: str) -> ClientIdentity | None:
        """The client of a key verified less than `cache_s` ago (no database read), or None."""
        cached = self._cache.get(credential)
        if cached is not None and time.monotonic() - cached[0] < self.cache_s:
            return cached[1]
        return None

    def client(self, credential: str) -> ClientIdentity:
        """The client an API key or access token belongs to."""
        now = time.monotonic()
        cached = self._cache.get(credential)
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        found = self._client_uncached(credential)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[credential] = (now, found)
        return found

    def _client_uncached(self, credential: str) -> ClientIdentity:
        with Session(self.engine) as session:
            if credential.startswith(credentials.TOKEN_PREFIX):
                token = session.get(AccessToken, credentials.digest(credential))
                if token is None or as_utc(token.expires_at) <= utc_now():
                    raise Unauthenticated("the access token is unknown or expired")
                client = session.get(ApiClient, token.client_id)
                via = "oauth"
            else:
                parsed = credentials.parse_api_key(credential)
                if parsed is None:
                    raise Unauthenticated("the API key is not a Clearway key (cwk_...)")
                client = session.get(ApiClient, parsed[0])
                if client is not None and not credentials.secret_matches(
                    parsed[1], client.secret_hash
                ):
                    client = None
                via = "api_key"
            if client is None or client.revoked_at is not None:
                raise Unauthenticated("the API key is unknown or revoked")
            if client.kind == Kind.ADMIN.value:
                principal = Principal(kind=Kind.ADMIN, name=f"client:{client.id}", via=via)
            else:
                assert client.tenant_id is not None
                principal = _tenant_principal(session, client.tenant_id, f"client:{client.id}", via)
            secret = (
                self.box.open(client.signing_secret)
                if client.signing_secret and self.box is not None
                else None
            )
            return ClientIdentity(principal, client.id, secret, client.require_signature)

    def client_credentials(self, client_id: str, client_secret: str, ttl_s: int) -> str:
        """OAuth2 client-credentials grant: an access token for a client that proves its key."""
        key = (
            client_secret
            if client_secret.startswith(credentials.API_KEY_PREFIX)
            else (f"{credentials.API_KEY_PREFIX}{client_id}_{client_secret}")
        )
        parsed = credentials.parse_api_key(key)
        if parsed is None or parsed[0] != client_id:
            raise Unauthenticated("client_id and client_secret do not match")
        self._client_uncached(key)  # raises for unknown, wrong or revoked credentials
        token, token_hash = credentials.new_token()
        now = utc_now()
        with Session(self.engine) as session, session.begin():
            session.add(
                AccessToken(
                    token_hash=token_hash,
                    client_id=client_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_s),
                )
            )
        return token

    def check_signature(
        self,
        identity: ClientIdentity,
        *,
        timestamp: str | None,
        nonce: str | None,
        signature: str | None,
        method: str,
        target: str,
        body: bytes,
    ) -> None:
        """Verify a signed request (required for clients that asked for it) and its nonce."""
        if signature is None and not identity.require_signature:
            return
        if identity.signing_secret is None:
            raise BadSignature(
                signing.SignatureError(
                    "X-Clearway-Signature", "no-secret", "this client has no signing secret"
                )
            )
        error = signing.check_request(
            identity.signing_secret,
            timestamp=timestamp,
            nonce=nonce,
            signature=signature,
            method=method,
            target=target,
            body=body,
            now=time.time(),
        )
        if error is not None:
            raise BadSignature(error)
        assert nonce is not None
        now = utc_now()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    RequestNonce.__table__.insert().values(  # type: ignore[attr-defined]
                        client_id=identity.client_id, nonce=nonce, seen_at=now
                    )
                )
                if secrets.randbelow(500) == 0:  # now and then, forget nonces past the window
                    horizon = now - timedelta(seconds=2 * signing.WINDOW_S)
                    conn.execute(delete(RequestNonce).where(col(RequestNonce.seen_at) < horizon))
        except IntegrityError:
            raise BadSignature(
                signing.SignatureError(
                    "X-Clearway-Nonce", "replay", "this nonce was already used (a replay)"
                )
            ) from None

    # -- rate limits -----------------------------------------------------------------------
    def throttle(self, owner: str, *, rate: float, burst: int) -> None:
        """Take a token from the caller's bucket or refuse with the wait (one process's view)."""
        with self._lock:
            verdict = take(self._buckets.get(owner), now=time.monotonic(), rate=rate, burst=burst)
            self._buckets[owner] = verdict.bucket
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after_s)

    # -- people ----------------------------------------------------------------------------
    def sign_in(
        self, login: str, password: str, *, lock_after: int, lock_minutes: float, hours: float
    ) -> tuple[str, str]:
        """Check a password (argon2) and open a session: (cookie value, CSRF token).

        Every failure says the same thing, whether the login exists or not; `lock_after`
        failures in a row lock the account for `lock_minutes`, during which even the right
        password is refused.
        """
        now = utc_now()
        locked_until: datetime | None = None
        with Session(self.engine) as session, session.begin():
            user = session.execute(
                select(User).where(col(User.login) == login).with_for_update()
            ).scalar_one_or_none()
            if user is None:
                _verify(_DUMMY_HASH, password)  # as slow as a wrong password
                raise Unauthenticated("wrong login or password")
            if user.locked_until is not None and as_utc(user.locked_until) > now:
                raise LockedOut(as_utc(user.locked_until))
            if _verify(user.password_hash, password):
                user.failed_logins, user.locked_until = 0, None
                if _HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = _HASHER.hash(password)
                cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
                session.add(
                    WebSession(
                        token_hash=credentials.digest(cookie),
                        user_id=user.id,
                        csrf_token=csrf,
                        created_at=now,
                        expires_at=now + timedelta(hours=hours),
                    )
                )
                return cookie, csrf
            user.failed_logins += 1
            if user.failed_logins >= lock_after:
                locked_until = now + timedelta(minutes=lock_minutes)
                user.locked_until, user.failed_logins = locked_until, 0
        # The failure is committed (it counts towards the lock) before it is answered.
        if locked_until is not None:
            raise LockedOut(locked_until)
        raise Unauthenticated("wrong login or password")

    def session_user(self, cookie: str) -> tuple[Principal, User, str]:
        """The principal, user and CSRF token of a browser session cookie."""
        with Session(self.engine, expire_on_commit=False) as session:
            found = session.get(WebSession, credentials.digest(cookie))
            if found is None or as_utc(found.expires_at) <= utc_now():
                raise Unauthenticated("the session has ended; sign in again")
            user = session.get(User, found.user_id)
            if user is None:
                raise Unauthenticated("the session has ended; sign in again")
            return user_principal(session, user), user, found.csrf_token

    def sign_out(self, cookie: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(WebSession).where(col(WebSession.token_hash) == credentials.digest(cookie))
            )


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
