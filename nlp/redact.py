"""Personal-data redaction and display masking for Chinese free text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

__all__ = [
    "Redaction",
    "is_valid_card_number",
    "is_valid_id_number",
    "looks_like_id_number",
    "looks_like_old_id_number",
    "mask_card",
    "mask_email",
    "mask_id_number",
    "mask_phone",
    "redact",
]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Lookarounds keep a pattern from matching inside a longer run of digits.
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_ID_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
_OLD_ID_RE = re.compile(r"(?<![\dA-Za-z])\d{15}(?![\dA-Za-z])")
_CARD_RE = re.compile(r"(?<![\d-])\d{4}(?:[ -]?\d){12,15}(?![\d])")
_MOBILE_RE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[ -]?)?(?:[(（]1[3-9]\d[)）]|1[3-9]\d)[ -]?\d{4}[ -]?\d{4}(?!\d)"
)
# Area code (010, (0571), or after +86/0086 without its 0: +86 571, +86-10), then a 7-8 digit
# subscriber number, whole or in groups (8765-4321, 8765 4321), and an optional extension.
_LANDLINE_RE = re.compile(
    r"(?<![\d+-])(?:(?:\+|00)86[ -]?(?:[(（]0?[1-9]\d{1,2}[)）]|0?[1-9]\d{1,2})[ -]?"
    r"|(?:[(（]0\d{2,3}[)）]|0\d{2,3}-?)\s?)"
    r"[2-9]\d{2,3}[ -]?\d{4}(?:-\d{1,5})?(?!\d)"
)

# Full-width digits, Latin letters and the characters of numbers and addresses (＋－．＠), as
# typed with a Chinese input method in full-width mode; Chinese punctuation (，。：（）) stays.
_FULLWIDTH_TO_ASCII = {
    cp: cp - 0xFEE0
    for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
} | {ord("＋"): ord("+"), ord("－"): ord("-"), ord("．"): ord("."), ord("＠"): ord("@")}

# What each pattern above needs at least one of (\d as they read it: any Unicode digit).
_MAYBE_PERSONAL = re.compile(r"[\d@]")


@dataclass(frozen=True, slots=True)
class Redaction:
    """Redacted text plus the kinds of personal data found (in order of first occurrence)."""

    text: str
    kinds: tuple[str, ...]


def is_valid_id_number(value: str) -> bool:
    """True for an 18-character resident ID whose GB 11643 check character is right."""
    if len(value) != 18 or not value[:17].isdigit() or not value[:17].isascii():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


# GB/T 2260 province codes: the first two digits of a resident ID.
_ID_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)]
    + [*range(61, 66), 71, 81, 82, 83, 91]
)


def looks_like_id_number(value: str) -> bool:
    """True for 18 characters shaped like a resident ID, whatever its check character says: a
    province code, a real birth date from 1900 on, three digits and a digit or X. A number the
    customer typed with one wrong digit is still their identity number (JR/T 0171: masked on
    display); only its check character tells it was mistyped."""
    if len(value) != 18 or not value[:17].isdigit() or not value[:17].isascii():
        return False
    if value[17] not in "0123456789Xx" or int(value[:2]) not in _ID_PROVINCES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def looks_like_old_id_number(value: str) -> bool:
    """True for a first-generation (15-digit) resident ID: a province code, a real birth date
    (YYMMDD, 19YY) and three digits. Issued until 2004 and still on old records and in the
    memory of older customers; it has no check digit, so its shape is all there is."""
    if len(value) != 15 or not value.isdigit() or not value.isascii():
        return False
    if int(value[:2]) not in _ID_PROVINCES:
        return False
    try:
        date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    except ValueError:
        return False
    return True


def is_valid_card_number(digits: str) -> bool:
    """True for 16-19 ASCII digits passing the Luhn check."""
    if not (16 <= len(digits) <= 19) or not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_digits(value: str, keep_start: int, keep_end: int) -> str:
    """Replace digits (not separators) between the first and last kept digits with '*'."""
    n_digits = sum(ch.isdigit() for ch in value)
    if n_digits <= keep_start + keep_end:
        keep_start, keep_end = min(keep_start, n_digits // 3), min(keep_end, n_digits // 3)
    out, seen = [], 0
    for ch in value:
        if ch.isdigit() or ch in "Xx":
            seen += 1
            hidden = keep_start < seen <= n_digits - keep_end
            out.append("*" if hidden else ch)
        else:
            out.append(ch)
    return "".join(out)


def mask_phone(value: object) -> str:
    """Mask one phone number: ``13812345678`` -> ``138****5678``; landlines keep area code."""
    s = "" if value is None else str(value).strip()
    digits = re.sub(r"\D", "", s)
    national = digits[-11:]
    if re.fullmatch(r"(?:0{0,2}86)?1[3-9]\d{9}", digits):
        lead = "+86 " if len(digits) > 11 else ""
        return f"{lead}{national[:3]}****{national[-4:]}"
    if s.startswith(("0", "(", "（")) and len(digits) >= 9:
        area = 3 if digits[:2] in {"01", "02"} else 4
        return _mask_digits(s, area, 4)
    return _mask_digits(s, 3, 4) if digits else "*" * min(len(s), 8)


def mask_id_number(value: object) -> str:
    """Mask one ID number: first 6 and last 4 characters kept (``110101********1234``)."""
    s = "" if value is None else str(value).strip()
    if len(s) >= 15:
        return s[:6] + "*" * (len(s) - 10) + s[-4:]
    return _mask_digits(s, 1, 1) if s else ""


def mask_card(value: object) -> str:
    """Mask one card number keeping first and last four digits and any separators."""
    s = "" if value is None else str(value).strip()
    return _mask_digits(s, 4, 4) if s else ""


def mask_email(value: object) -> str:
    """Mask one e-mail address: ``zhang.san@example.com`` -> ``z***@example.com``."""
    s = "" if value is None else str(value).strip()
    local, sep, domain = s.rpartition("@")
    if not sep:
        return s[:1] + "***" if s else ""
    return f"{local[:1]}***@{domain}" if local else f"***@{domain}"


def _sub(
    pattern: re.Pattern[str], kind: str, check: Callable[[str], bool], mask: Callable[[str], str]
):
    def apply(text: str, found: list[str]) -> str:
        def repl(m: re.Match[str]) -> str:
            if not check(m.group(0)):
                return m.group(0)
            found.append(kind)
            return mask(m.group(0))

        return pattern.sub(repl, text)

    return apply


def _mask_phone_match(s: str) -> str:
    digits = re.sub(r"\D", "", s)
    # the country code as written: +86, 0086 or 86 (the digits already hold 0086's zeros)
    intl = ("+" if s.startswith("+") else "") + digits[:-11] if len(digits) > 11 else ""
    masked = f"{digits[-11:-8]}****{digits[-4:]}"
    return f"{intl} {masked}" if intl else masked


def _mask_landline_match(s: str) -> str:
    """Keep the country and area codes and the last four digits: ``+86 571 ****4321``."""
    digits = re.sub(r"\D", "", s)
    if s.startswith(("+", "00")):
        country = 4 if s.startswith("00") else 2
        area = digits[country:].lstrip("0")
        keep = len(digits) - len(area) + (2 if area[:1] in {"1", "2"} else 3)
        return _mask_digits(s, keep, 4)
    return mask_phone(s)


def _id_ok(s: str) -> bool:
    return is_valid_id_number(s) or looks_like_id_number(s)


# Order matters: an 18-character ID wins over a card reading; masks contain '*' so later
# patterns cannot re-match what an earlier one replaced. Any other run of 16-19 digits is read
# as a card or account number (PIPL: financial account information), Luhn-valid or not: a
# customer's card number with a mistyped digit is still theirs.
_STEPS = (
    _sub(_EMAIL_RE, "email", lambda s: True, mask_email),
    _sub(_ID_RE, "id_number", _id_ok, mask_id_number),
    _sub(_OLD_ID_RE, "id_number", looks_like_old_id_number, mask_id_number),
    _sub(_CARD_RE, "bank_card", lambda s: True, mask_card),
    _sub(_MOBILE_RE, "phone", lambda s: True, _mask_phone_match),
    _sub(_LANDLINE_RE, "landline", lambda s: True, _mask_landline_match),
)


def redact(text: str) -> Redaction:
    """Mask phones, landlines, ID numbers (a valid check character, or the shape of one: see
    ``looks_like_id_number``; 15-digit first-generation ones by their shape), card and account
    numbers (any 16-19 digits) and e-mails.

    Masks keep the shape readable: ``138****5678``, ``110101********1234``,
    ``6222 **** **** 1234``, ``z***@example.com``, ``010-****5678``. Numbers are matched whole:
    a digit run that continues past the pattern is never partially masked. Full-width digits
    and letters (as typed in full-width mode) are read, and returned, as ASCII. Never raises.
    """
    if not text:
        return Redaction("" if text is None else str(text), ())
    # Chinese input methods in full-width mode type １３８… and ｚｈａｎｇ＠…: read as ASCII
    # (before the early exit: ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ has no ASCII digit or '@')
    out = str(text).translate(_FULLWIDTH_TO_ASCII)
    if not _MAYBE_PERSONAL.search(out):  # every pattern needs a digit or an '@'
        return Redaction(out, ())
    found: list[str] = []
    for step in _STEPS:
        out = step(out, found)
    return Redaction(out, tuple(dict.fromkeys(found)))
