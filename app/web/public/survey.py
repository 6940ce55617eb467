"""The customer's survey page ``/s/<token>``: Chinese, phone-sized, works without JavaScript.

The view is exempt from CSRF: the unguessable one-time token in the URL is what authorises a
submission, and customers have no session with us.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, make_response, render_template, request, session
from werkzeug.http import dump_cookie

from app.extensions import csrf
from app.models.base import utcnow
from app.services import ratelimit, responses
from app.services.errors import NotFound
from app.services.invitations import hash_token
from app.web.public import bp
from surveys import field_name, other_field_name
from surveys.answers import MSG_REQUIRED

# Wrong tokens tolerated from one address per window before every link is refused (guessing
# a 192-bit token is hopeless anyway; this stops enumeration noise and scanners early).
MAX_WRONG_TOKENS = 30
WINDOW_SECONDS = 600

MESSAGES = {
    # (no "联系客户经理": many customers have none; the page offers the hotline and the form)
    "missing": (404, "链接无效", "未找到该问卷，请确认链接完整无误（未被截断）。"),
    "gone": (410, "问卷已过期", "该问卷链接已过期或本次调查已结束，感谢您的关注。"),
    "full": (410, "问卷已收满", "本次调查的答卷已收满，无法再提交。感谢您的关注！"),
    "answered": (200, "您已提交过本问卷", "该链接已提交过答卷，无需重复填写。感谢您的参与！"),
    "busy": (
        429,
        "提交过于频繁",
        "来自您所在网络的答卷提交过多，请约一小时后再试。感谢您的参与！",
    ),
    "throttled": (
        429,
        "访问过于频繁",
        f"来自您网络的无效链接访问过多，请约 {WINDOW_SECONDS // 60} 分钟后再试。",
    ),
}


# Anonymous links taking one answer per browser (Campaign.once_per_device) remember, in this
# cookie, a short digest of each such link answered here (no answer, no identity in it).
ANSWERED_COOKIE = "kesheng_answered"
ANSWERED_KEEP = 20  # links remembered per browser, the latest kept
ANSWERED_SECONDS = 400 * 24 * 3600  # (browsers cap a cookie's life near 400 days)
ANSWERED_HERE = "您已在本设备提交过本问卷，无需重复填写。感谢您的参与！"


def _link_mark(token: str) -> str:
    return hash_token(token)[:16]


def _answered_marks(cookie_value: str) -> list[str]:
    return [m for m in cookie_value.split(".") if m]


def answered_cookie(token: str, cookie_value: str, *, secure: bool) -> str:
    """The Set-Cookie header adding this link to the browser's answered links (the view's and
    the submission fast path's, which sees no cookie)."""
    marks = [m for m in _answered_marks(cookie_value) if m != _link_mark(token)]
    marks = [*marks, _link_mark(token)][-ANSWERED_KEEP:]
    return dump_cookie(
        ANSWERED_COOKIE,
        ".".join(marks),
        max_age=ANSWERED_SECONDS,
        path="/s/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )


def limit_key(remote_addr: str | None) -> str:
    return f"survey-link:{remote_addr or 'unknown'}"


def _limits() -> tuple[int, int]:
    cfg = current_app.config
    return cfg.get("SURVEY_LINK_MAX_FAILURES", MAX_WRONG_TOKENS), cfg.get(
        "SURVEY_LINK_WINDOW_SECONDS", WINDOW_SECONDS
    )


def message_page(kind: str, text: str | None = None):
    status, heading, default = MESSAGES[kind]
    page = render_template(
        "public/survey/message.html", kind=kind, heading=heading, text=text or default
    )
    if status == 429:  # (when to try again: at the latest when the address's window ends)
        _, window = _limits()
        if kind == "busy":
            window = responses.ANONYMOUS_WINDOW_SECONDS
        return page, status, {"Retry-After": str(int(window))}
    return page, status


def expiry_label(expires_at: datetime, now: datetime | None = None) -> str:
    """When a link stops taking answers, to the minute in Beijing time: "12月21日 02:32" (the
    year too when it is not this one's). A date alone read as the whole of that day, and a
    customer opening the link that morning found it expired at 02:32."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    at = expires_at.astimezone(tz)
    day = f"{at.month}月{at.day}日"
    if at.year != (now or utcnow()).astimezone(tz).year:
        day = f"{at.year}年{day}"
    return f"{day} {at:%H:%M}"


def render_form(link, *, raw=None, errors=None, status=200, draft=False, **extra):
    # No draft on a branch's shared tablet (an anonymous link taking any number of answers
    # from one browser): the next customer would find the answers of one who walked away.
    draft = draft and not getattr(link, "shared_device", False)
    page = render_template(
        "public/survey/form.html",
        defn=link.definition,
        raw=raw or {},
        errors=errors or {},
        field_name=field_name,
        other_field_name=other_field_name,
        required_message=MSG_REQUIRED,
        expires_label=expiry_label(link.expires_at) if link.expires_at else None,
        version_key=getattr(link, "version_key", None),
        action=extra.pop("action", request.path),
        draft=draft,
        **extra,
    )
    return page, status


def anonymous_limit() -> int:
    """Answers one address may give one anonymous link per hour (a branch's Wi-Fi puts many
    customers behind one address; a script filling the survey is stopped)."""
    return current_app.config.get("SURVEY_ANONYMOUS_PER_ADDRESS", responses.ANONYMOUS_PER_ADDRESS)


def _blocked() -> dict[str, float]:
    """Addresses this process has seen reach the limit, until their window ends: they are
    refused without a look-up. The counter itself lives in the database, shared by workers."""
    return current_app.extensions.setdefault("survey_link_blocked", {})


def throttled(key: str) -> bool:
    until = _blocked().get(key)
    if until is None:
        return False
    if until > time.monotonic():
        return True
    _blocked().pop(key, None)
    return False


def _count_wrong_token(key: str, limit: int, window: int) -> bool:
    """Count a wrong token; True when the address was already over the limit."""
    ratelimit.hit(key, window_seconds=window)
    hits = ratelimit.count(key, window_seconds=window)
    if hits >= limit:
        blocked = _blocked()
        if len(blocked) > 10_000:
            blocked.clear()
        blocked[key] = time.monotonic() + window
    return hits > limit


@bp.route("/s/<token>", methods=["GET", "POST"])
@csrf.exempt
def survey_link(token: str):
    # Only wrong tokens are counted (in the database, across workers); a right one costs no
    # rate-limit query. Past the limit the address's wrong tokens are refused for the window
    # without being counted again; a right link is still answered (refusing every link from
    # the address turned away customers behind a branch's or an operator's shared address,
    # and a 192-bit token is not found by guessing anyway).
    limit, window = _limits()
    key = limit_key(request.remote_addr)
    try:
        # (only links taking one answer per browser are ever marked answered)
        answered_here = _link_mark(token) in _answered_marks(
            request.cookies.get(ANSWERED_COOKIE, "")
        )
        if request.method in ("GET", "HEAD"):  # (a link previewer's HEAD never submits)
            if answered_here:  # (before the link's state: a full or closed one says so too)
                return message_page("answered", ANSWERED_HERE)
            # only a GET is the customer opening the link: gateways' link scanners send HEAD
            opened = request.method == "GET"
            return render_form(responses.open_link(token, mark_opened=opened), draft=True)
        if answered_here:  # a refresh of the thank-you page, or the form sent again
            return message_page("answered", ANSWERED_HERE)
        response = responses.submit_link(
            token, request.form, client=request.remote_addr, per_address=anonymous_limit()
        )
    except NotFound:
        if throttled(key) or _count_wrong_token(key, limit, window):
            return message_page("throttled")
        return message_page("missing")
    except responses.CampaignFull:
        return message_page("full")
    except responses.TooManyFromAddress:
        return message_page("busy")
    except responses.LinkGone as err:
        # "该问卷链接已过期" / "本次调查已结束" alone read like a fault; say what it means
        return message_page("gone", f"{err.message}，无法再提交答卷。感谢您的关注！")
    except responses.AlreadyAnswered:
        return message_page("answered")
    except responses.AnswersInvalid as err:
        return render_form(
            responses.open_link(token), raw=err.raw, errors=err.fields, status=422, draft=True
        )
    page = make_response(thanks_page(response.thank_you, dissatisfied=response.dissatisfied))
    if response.once_per_device:
        cookie = request.cookies.get(ANSWERED_COOKIE, "")
        page.headers.add("Set-Cookie", answered_cookie(token, cookie, secure=request.is_secure))
    return page


_thanks_pages: dict[tuple[str, bool], str] = {}


def cached_thanks_page(text: str, *, dissatisfied: bool = False) -> str | None:
    """The customer's thank-you page with this text, when this process has rendered it."""
    return _thanks_pages.get((text, dissatisfied))


def thanks_page(text: str, *, dissatisfied: bool = False) -> str:
    """The thank-you page. For a customer (not signed in, no flashed message) it is the same
    for every submission with this text, so each process renders it once per text; a
    submission, the busiest request, then renders nothing. A ``dissatisfied`` customer (the
    detractor rule) is also told, in one line, where to complain: the public complaint form and
    the hotline (two pages per text)."""
    customer = "_user_id" not in session and "_flashes" not in session  # (flask-login's key)
    key = (text, dissatisfied)
    page = _thanks_pages.get(key) if customer else None
    if page is None:
        page = render_template(
            "public/survey/message.html",
            kind="thanks",
            heading="提交成功，感谢您的参与",
            text=text,
            dissatisfied=dissatisfied,
        )
        if customer:
            if len(_thanks_pages) >= 256:
                _thanks_pages.clear()
            _thanks_pages[key] = page
    return page
