"""The signed-in user of a page, and how pages are rendered for them in their language."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from gateway.context import gateway_of
from gateway.db import User
from gateway.domain.access import Kind, Principal
from gateway.identity import CSRF_HEADER, SESSION_COOKIE, Forbidden, Unauthenticated
from gateway.web.i18n import LANGUAGES, environment, language_of


@dataclass(frozen=True, slots=True)
class PageUser:
    """Who is looking at a page."""

    principal: Principal
    display_name: str
    csrf: str
    language: str

    @property
    def kind(self) -> Kind:
        return self.principal.kind


class SignInRequired(Exception):
    """A page for signed-in users, opened without a session: go to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


async def page_user(request: Request) -> PageUser | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    try:
        principal, user, csrf = await run_in_threadpool(
            gateway_of(request).identities.session_user, cookie
        )
    except Unauthenticated:
        return None
    return _page_user(request, principal, user, csrf)


def _page_user(request: Request, principal: Principal, user: User, csrf: str) -> PageUser:
    return PageUser(principal, user.display_name, csrf, language_of(request, user.language))


async def signed_in(request: Request, *kinds: Kind) -> PageUser:
    """The page's user, who must be of one of `kinds` (sign-in page otherwise)."""
    found = await page_user(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    if kinds and found.kind not in kinds:
        raise Forbidden("this page is not for your kind of account")
    return found


async def check_form_csrf(request: Request, user: PageUser) -> dict[str, Any]:
    """The form of a POST from a page, refused unless it carries the session's CSRF token."""
    form = await request.form()
    token = form.get("csrf_token") or request.headers.get(CSRF_HEADER)
    if not isinstance(token, str) or not secrets.compare_digest(token, user.csrf):
        raise Forbidden("the form is stale or was not sent by this site; reload the page")
    return dict(form)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: PageUser | None,
    status_code: int = 200,
    language: str | None = None,
) -> HTMLResponse:
    """A page in the user's language, with the layout's shared values."""
    lang = language or (user.language if user else language_of(request))
    page = environment(lang).get_template(template)
    html = page.render(
        request=request,
        user=user,
        lang=lang,
        languages=LANGUAGES,
        path=request.url.path,
        query=request.url.query,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)
