"""Password hashes: scrypt from the standard library, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt's cost: 2**14 iterations of 8-block mixing (about 16 MiB and tens of ms a check).
N, R, P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
SCHEME = "scrypt"


class PasswordHashError(ValueError):
    """A stored hash that is not `scrypt$N$r$p$salt$key`."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=length
    )


def hash_password(password: str) -> str:
    """`scrypt$16384$8$1$<salt>$<key>` (base64): what the users file and the table keep."""
    if not password:
        raise ValueError("a password must not be empty")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, key) of a stored hash; PasswordHashError when it is not one of ours."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PasswordHashError("not a scrypt$N$r$p$salt$key hash")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = (
            base64.b64decode(parts[4], validate=True),
            base64.b64decode(parts[5], validate=True),
        )
    except ValueError as error:
        raise PasswordHashError(f"not a scrypt$N$r$p$salt$key hash: {error}") from None
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or not salt or not key:
        raise PasswordHashError("scrypt parameters out of range")
    return n, r, p, salt, key


# Checked when the user is unknown, so that an unknown name takes as long as a wrong password.
_DUMMY = hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; None (no such user) costs the same and fails."""
    n, r, p, salt, key = parse_hash(stored or _DUMMY)
    derived = _derive(password, salt, n, r, p, len(key))
    return hmac.compare_digest(derived, key) and stored is not None
