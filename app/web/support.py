"""Request plumbing: branch scope binding, security headers, template helpers, vendor assets."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Flask, Request, Response, abort, request, send_from_directory, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_login import current_user

import nlp
from app.extensions import db
from app.services import dashboard_pages, scope
from app.web import nav

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)

VENDOR_FILES = {"plotly.min.js": ("plotly", "package_data")}
DOWNLOAD_TYPES = {
    "csv": "text/csv",  # (werkzeug adds the charset)
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


_UNSCOPED = (None, "static", "vendor_asset", "favicon")


def _bind_scope() -> None:
    if request.endpoint in _UNSCOPED or request.blueprint == "public":
        return  # (the customers' pages show no branch-scoped data, whoever is signed in)
    if current_user.is_authenticated:
        scope.bind(db.session, scope.scope_for(current_user))


def _refuse_nul_bytes() -> None:
    """A NUL byte in the path, the query or a form field is bad input (400) on every page, on
    both databases (PostgreSQL cannot store it; SQLite would keep a string that truncates)."""
    if "\x00" in request.path:
        abort(400)
    values = list(request.args.values())
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for listed in request.form.listvalues():
            values += listed
        values += [f.filename or "" for f in request.files.values()]
    if any("\x00" in v for v in values):
        abort(400)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work Flask does on every request that has no
    session (a customer's survey submission, an API call): building the cookie's signer to
    find no cookie, and seven cookie settings looked up to then write nothing."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:  # (Flask writes nothing then either)
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # Our own pages' requests carry their referrer (Flask-WTF's CSRF check over HTTPS requires
    # one: with no-referrer, behind the TLS proxy, every form POST, the sign-in included, was
    # refused); no other site is ever sent one. Survey pages send none at all (SURVEY_REFERRER).
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_HEADER_KEYS = tuple((name, value, name.lower()) for name, value in _HEADERS)


# A survey page's address holds the customer's one-time token, and its form is not
# CSRF-protected (the token is the credential): it sends no referrer, even to this site.
SURVEY_REFERRER = ("Referrer-Policy", "no-referrer")


def security_headers(
    present: set[str], *, secure: bool, no_store: bool, survey: bool = False
) -> list[tuple[str, str]]:
    """The security headers a response gets, minus those already ``present`` (lower-case
    names): the same list for the Flask responses and the survey submission fast path."""
    if survey and "referrer-policy" not in present:
        present = present | {"referrer-policy"}
        extra = [SURVEY_REFERRER]
    else:
        extra = []
    extra += [(name, value) for name, value, lower in _HEADER_KEYS if lower not in present]
    if secure and "strict-transport-security" not in present:
        extra.append(("Strict-Transport-Security", "max-age=31536000"))
    if no_store and "cache-control" not in present:
        extra.append(("Cache-Control", "no-store"))
    return extra


def _security_headers(response):
    headers = response.headers
    # One pass over the headers set so far (Headers.setdefault raises and catches an exception
    # per missing header: ten of them on every response).
    present = set(headers.keys(lower=True))
    survey = request.path.startswith("/s/")
    no_store = "cache-control" not in present and (  # one-time links and personal pages
        survey or getattr(current_user, "is_authenticated", False)
    )
    headers.extend(
        security_headers(present, secure=request.is_secure, no_store=no_store, survey=survey)
    )
    return response


_SENTINEL = 918_273_645


def id_url(endpoint: str, arg: str) -> Callable[[int], str]:
    """``url_for(endpoint, **{arg: id})`` for the many rows of a list: the route is built once,
    then each row's link is a string join (url_for costs ~0.1 ms a call)."""
    head, _, tail = url_for(endpoint, **{arg: _SENTINEL}).rpartition(str(_SENTINEL))
    return lambda ident: f"{head}{int(ident)}{tail}"


def vendor_asset(filename: str):
    """Third-party browser assets shipped inside Python packages (no CDN on bank intranets)."""
    if filename not in VENDOR_FILES:
        abort(404)
    package, folder = VENDOR_FILES[filename]
    module = __import__(package)
    directory = os.path.join(os.path.dirname(module.__file__), folder)
    return send_from_directory(directory, filename, max_age=7 * 24 * 3600)


def vendor_url(filename: str) -> str:
    """A vendor asset's address with its package's version (``?v=6.3.0``): browsers keep the
    file for a week, and an upgraded plotly is a new address rather than a week-old copy."""
    package, _ = VENDOR_FILES[filename]
    return url_for("vendor_asset", filename=filename, v=importlib.metadata.version(package))


_ICON = os.path.join(os.path.dirname(__file__), "..", "static", "favicon.svg")


def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the same icon, not a 404 (sent
    from memory: a few hundred bytes, no file left open behind a streamed response)."""
    with open(_ICON, "rb") as f:
        body = f.read()
    response = Response(body, mimetype="image/svg+xml")
    response.cache_control.public, response.cache_control.max_age = True, 7 * 24 * 3600
    return response


def download(body: bytes, fmt: str, stem: str) -> Response:
    """An export file (``fmt`` one of DOWNLOAD_TYPES) that the browser saves as ``stem.fmt``.
    The header's ``filename`` keeps printable ASCII only (no quote, backslash or control
    character: a newline in it was a 500, a non-Latin-1 character broke the response); a name
    that needed changing is also given whole as RFC 5987 ``filename*`` (UTF-8), e.g. Chinese."""
    name = f"{stem}.{fmt}"
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\;' else "_" for ch in name)
    disposition = f'attachment; filename="{fallback}"'
    if fallback != name:
        disposition += f"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        body,
        mimetype=DOWNLOAD_TYPES[fmt],
        headers={"Content-Disposition": disposition},
    )


def register(app: Flask) -> None:
    tz = ZoneInfo(app.config["TIMEZONE"])

    @app.template_filter("local")
    def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else "—"

    @app.template_filter("cn_date")
    def chinese_date(value: date | None) -> str:
        """A calendar date as the customers' notices write it: 2026年12月05日."""
        return f"{value:%Y年%m月%d日}" if value else "—"

    # a figure as people round it (四舍五入), "—" when there is none
    app.add_template_filter(dashboard_pages.num, "figure")

    @app.template_filter("redact")
    def redact_text(value: str | None) -> str:
        """Free text with phone, ID, card numbers and e-mails masked (personal data by default
        masked on every page; the full text needs an audited reveal)."""
        return nlp.redact(value).text if value else (value or "")

    @app.context_processor
    def bank():
        cfg = app.config
        return {
            "bank_name": cfg["BANK_NAME"],
            "bank_hotline": cfg["BANK_HOTLINE"],
            "bank_home_url": cfg["BANK_HOME_URL"],
            "idle_seconds": int(cfg.get("SESSION_IDLE_MINUTES") or 0) * 60,
        }

    from app.services.analysis import MAX_ATTEMPTS

    app.jinja_env.globals["max_analysis_attempts"] = MAX_ATTEMPTS  # (then no more retries)
    app.jinja_env.globals["vendor_url"] = vendor_url

    @app.context_processor
    def navigation():
        items = nav.links_for(current_user.role) if current_user.is_authenticated else ()
        here = request.script_root + request.path
        return {"nav_items": items, "nav_active": nav.active_endpoint(items, here)}

    app.session_interface = SessionInterface()
    app.before_request(_refuse_nul_bytes)
    app.before_request(_bind_scope)
    from app.web.auth.idle import require_own_password, sign_out_idle

    app.before_request(sign_out_idle)
    app.before_request(require_own_password)
    app.after_request(_security_headers)
    app.add_url_rule("/vendor/<path:filename>", "vendor_asset", vendor_asset)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
