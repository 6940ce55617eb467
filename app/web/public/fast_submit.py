"""A customer's survey submission (``POST /s/<token>``, the busiest request) answered without
Flask's request machinery when it succeeds.

Measured calling the WSGI app in one process (SQLite), a submission cost ~0.73 ms of CPU through
Flask and ~0.43 ms through this path: the difference is Flask's request and response objects,
its two contexts, URL matching, the session and the request hooks, all for a request that
needs none of them. Under gunicorn that decides whether submissions keep up at peak (#8).

``SubmissionFastPath`` wraps the Flask app's ``wsgi_app`` (inside ``ProxyFix``, so the client
address is the one Flask would see) and takes only a plain customer submission: ``POST`` to
``/s/<token>`` with no query string, a URL-encoded UTF-8 body of known, modest length, no NUL
byte and no cookie (a cookie may carry a signed-in session, whose pages differ). It parses the
body as Werkzeug does, runs the same use case as the view (``responses.submit_link``) in an
application context and answers with the view's thank-you page and headers.

Everything else goes to the Flask view unchanged, with the body replayed: other requests, an
address being throttled, and every outcome but success — a wrong token (counted there, once),
an answered or expired link, invalid answers, a database error. None of those wrote anything
before raising, so the view meets the same state and answers as it always has; if a database
error came after the write had committed, the view finds the link answered and says so.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.datastructures import ImmutableMultiDict

from app.services import responses
from app.web import support
from app.web.public import survey

_PATH = re.compile(rf"/s/([A-Za-z0-9_-]{{1,{responses.MAX_TOKEN_LENGTH}}})")
_FORM_TYPES = frozenset(("application/x-www-form-urlencoded",))
MAX_BODY = 64 * 1024  # a long survey's answers are a few KB; anything larger goes to Flask

StartResponse = Callable[..., object]


class SubmissionFastPath:
    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app  # Flask's own (what every other request gets)
        # the view's headers: the security headers, no caching of a one-time link's page, and
        # Vary: Cookie as Flask adds it (the page differs for a signed-in session)
        self.headers = {
            secure: [
                ("Content-Type", "text/html; charset=utf-8"),
                *support.security_headers(
                    {"content-type"}, secure=secure, no_store=True, survey=True
                ),
                ("Vary", "Cookie"),
            ]
            for secure in (False, True)
        }

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        token = self._plain_submission(environ)
        if token is None:
            return self.wsgi_app(environ, start_response)
        length = int(environ["CONTENT_LENGTH"])
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # replayed if Flask takes over
        form = _form(body) if len(body) == length else None
        secure = environ.get("wsgi.url_scheme") == "https"
        done = self._submit(environ, token, form, secure) if form is not None else None
        if done is None:
            environ["wsgi.input"].seek(0)
            return self.wsgi_app(environ, start_response)
        data = done[0].encode()
        headers = [*self.headers[secure], *done[1], ("Content-Length", str(len(data)))]
        start_response("200 OK", headers)
        return [data]

    def _plain_submission(self, environ: dict) -> str | None:
        """The token when the request is one this path takes, else None."""
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
            return None
        if "HTTP_COOKIE" in environ or not self.app.config.get("SURVEY_FAST_PATH", True):
            return None
        found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if found is None:
            return None
        kind, _, options = environ.get("CONTENT_TYPE", "").partition(";")
        if kind.strip().lower() not in _FORM_TYPES or options.strip().lower() not in (
            "",
            "charset=utf-8",
        ):
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if not (length.isascii() and length.isdigit()) or not 0 < int(length) <= MAX_BODY:
            return None
        return found.group(1)

    def _submit(
        self, environ: dict, token: str, form: ImmutableMultiDict, secure: bool
    ) -> tuple[str, list[tuple[str, str]]] | None:
        """Accept the answers; the thank-you page and any header to add (an anonymous link
        taking one answer per browser remembers it), or None for the view to take over."""
        with self.app.app_context():
            if survey.throttled(survey.limit_key(environ.get("REMOTE_ADDR"))):
                return None
            try:
                submitted = responses.submit_link(
                    token,
                    form,
                    client=environ.get("REMOTE_ADDR"),
                    per_address=survey.anonymous_limit(),
                )
            except Exception:  # the view answers it (and logs what it must)
                return None
            unhappy = submitted.dissatisfied
            page = survey.cached_thanks_page(submitted.thank_you, dissatisfied=unhappy)
        if page is None:  # (the first time in this process: rendered, then kept)
            with self.app.request_context(environ):
                page = survey.thanks_page(submitted.thank_you, dissatisfied=unhappy)
        extra = []
        if submitted.once_per_device:  # (no cookie came: this path takes none)
            extra.append(("Set-Cookie", survey.answered_cookie(token, "", secure=secure)))
        return page, extra


def _form(body: bytes) -> ImmutableMultiDict | None:
    """The form as Werkzeug parses it (``FormDataParser._parse_urlencoded``), or None when
    Werkzeug would refuse or change it (not UTF-8: Werkzeug then silently sees an empty form)
    or it carries a NUL byte (which the Flask hooks answer with 400)."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    items = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
    if any("\x00" in key or "\x00" in value for key, value in items):
        return None
    return ImmutableMultiDict(items)


def install(app: Flask) -> None:
    app.wsgi_app = SubmissionFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
