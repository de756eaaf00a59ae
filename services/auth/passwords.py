"""Password rules and hashes (argon2id through argon2-cffi).

At least 8 characters: NIST SP 800-63B's minimum for a password chosen by its user (our users' platform
manual asks for 6, which an offline guesser exhausts in hours). No composition rules (the same guideline
says they make passwords worse, not better); at most 256 characters so hashing cost stays bounded; a
password may not be the username or the email.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY
from flask import current_app

MIN_LENGTH = 8
MAX_LENGTH = 256

_hashers: dict[bool, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    """RFC 9106's low-memory profile (64 MiB, 3 passes); tests set ``PASSWORD_HASH_CHEAP`` for argon2id with
    the cheapest parameters, the same code path at a fraction of the cost."""
    cheap = bool(current_app.config.get("PASSWORD_HASH_CHEAP"))
    if cheap not in _hashers:
        _hashers[cheap] = PasswordHasher.from_parameters(CHEAPEST if cheap else RFC_9106_LOW_MEMORY)
    return _hashers[cheap]


def problems(password: object, username: str = "", email: str = "") -> list[str]:
    """Every rule the password breaks (empty when it is acceptable)."""
    if not isinstance(password, str):
        return ["The password must be a string."]
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"The password needs at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        found.append(f"The password may have at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered and lowered in {username.lower(), email.lower()}:
        found.append("The password may not be your username or email.")
    return found


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
