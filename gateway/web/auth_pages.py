"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.context import gateway_of
from gateway.domain.access import Kind
from gateway.identity import SESSION_COOKIE, LockedOut, Unauthenticated
from gateway.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from gateway.web.session import check_form_csrf, page_user, redirect, render, signed_in

router = APIRouter(include_in_schema=False)
_LOGIN_CSRF_COOKIE = "cw_login_csrf"
HOME_OF = {Kind.TENANT: "/seller", Kind.OFFICER: "/officer", Kind.ADMIN: "/admin"}


def _local(path: str | None, default: str = "/") -> str:
    """Only paths on this site are followed after sign-in (no open redirects)."""
    if not path:
        return default
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return default
    return path


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    page = render(
        request,
        "login.html",
        {"csrf_login": token, "next": _local(next), "error": None},
        user=None,
    )
    page.set_cookie(
        _LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=gateway_of(request).settings.secure_cookies,
        max_age=3600,
    )
    return page


@router.post("/login")
async def login(
    request: Request,
    login: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get(_LOGIN_CSRF_COOKIE, "")
    gateway = gateway_of(request)
    settings = gateway.settings
    error: str | None = None
    status = 401
    if not expected or not secrets.compare_digest(csrf_token, expected):
        error, status = "form-expired", 403
    else:
        try:
            cookie, _csrf = await run_in_threadpool(
                gateway.identities.sign_in,
                login,
                password,
                lock_after=settings.lockout_after,
                lock_minutes=settings.lockout_minutes,
                hours=settings.session_hours,
            )
        except LockedOut:
            error, status = "locked", 423
        except Unauthenticated:
            error = "wrong"
        else:
            response = redirect(_local(next))
            response.set_cookie(
                SESSION_COOKIE,
                cookie,
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
                max_age=int(settings.session_hours * 3600),
            )
            response.delete_cookie(_LOGIN_CSRF_COOKIE)
            return response
    token = secrets.token_urlsafe(24)
    page = render(
        request,
        "login.html",
        {"csrf_login": token, "next": _local(next), "error": error, "login": login},
        user=None,
        status_code=status,
    )
    page.set_cookie(
        _LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=3600,
    )
    return page


@router.post("/logout")
async def logout(request: Request) -> Response:
    user = await signed_in(request)
    await check_form_csrf(request, user)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await run_in_threadpool(gateway_of(request).identities.sign_out, cookie)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{language}")
async def switch_language(language: str, request: Request, next: str | None = None) -> Response:
    response = redirect(_local(next))
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, samesite="lax", max_age=365 * 86400)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    user = await page_user(request)
    if user is not None:
        return redirect(HOME_OF[user.kind])
    services = await request.app.state.upstream_health()
    return render(request, "home.html", {"services": services}, user=None)
