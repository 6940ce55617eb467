"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so that an unknown user name
# costs the same time as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("kesheng-dummy-password")

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128  # (the sign-in form takes up to 256 characters)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """A Chinese message when a new password is too weak, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符"
    if len(password) > MAX_PASSWORD_LENGTH:
        # (the sign-in form takes 256: a longer password was set and could never sign in)
        return f"密码不能超过 {MAX_PASSWORD_LENGTH} 个字符"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in password):
        # (a NUL or a line break from a pasted or piped text cannot be typed at sign-in)
        return "密码不能包含控制字符（如换行、制表符）或不可见字符"
    kinds = sum(
        any(test(c) for c in password)
        for test in (str.isdigit, str.islower, str.isupper, lambda c: not c.isalnum())
    )
    if kinds < 3:
        return "密码需包含大写字母、小写字母、数字和符号中的至少三类"
    return None
