"""The web pages: sign-in, sellers' pages and the officers' dashboard, in Chinese and English."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request, Response

from gateway.web import admin_pages, auth_pages, officer_pages, seller_pages, upload_pages
from gateway.web.session import SignInRequired, redirect


def install_pages(app: FastAPI) -> None:
    """Add the pages to the gateway application."""
    app.include_router(auth_pages.router)
    app.include_router(officer_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(seller_pages.router)
    app.include_router(upload_pages.router)

    async def sign_in_first(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return redirect(f"/login?next={quote(exc.next_path, safe='')}")

    app.add_exception_handler(SignInRequired, sign_in_first)
