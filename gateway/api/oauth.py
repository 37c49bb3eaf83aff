"""OAuth2 client credentials: trade an API client's credentials for a short-lived token."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool

from gateway.context import gateway_of
from gateway.identity import Unauthenticated
from gateway.tenancy import Invalid

router = APIRouter()


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("the Basic credentials are not base64 client_id:secret") from None
    return client_id, secret


_TOKEN_DOC = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "example": {
                    "grant_type": "client_credentials",
                    "client_id": "3f9a0c2b7d1e4a56",
                    "client_secret": "cwk_3f9a0c2b7d1e4a56_<the rest of the API key>",
                }
            }
        }
    }
}


@router.post("/oauth/token", tags=["api keys"], openapi_extra=_TOKEN_DOC)
async def token(
    request: Request,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """RFC 6749 client credentials grant: `client_id` is the API client id, `client_secret` its
    API key (in the form or as HTTP Basic). Answers a bearer token valid for `expires_in` s."""
    if grant_type != "client_credentials":
        raise Invalid("grant_type", "unsupported_grant_type", "only client_credentials")
    basic = _basic(request)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise Invalid("client_id", "required", "client_id and client_secret are required")
    gateway = gateway_of(request)
    ttl = gateway.settings.token_ttl_s
    issued = await run_in_threadpool(
        gateway.identities.client_credentials, client_id, client_secret, ttl
    )
    return {"access_token": issued, "token_type": "bearer", "expires_in": ttl}
