"""API keys with scopes, stored hashed (argon2id) in the store; the secret is shown once, never logged.

A key looks like ``twin_<key_id>_<secret>``: the id finds the record, the secret is checked against its
argon2 hash. Verified keys are remembered (by SHA-256 of the key) for ``auth_cache_s`` so polling dashboards
do not pay for argon2 on every request; revocation takes effect within that time.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from twin.errors import StoreError, TwinError
from twin.store import ApiKeyRecord, Store, UnknownKeyError

log = logging.getLogger(__name__)
SCOPES = ("read", "run", "admin")
IMPLIED = {"admin": {"admin", "run", "read"}, "run": {"run", "read"}, "read": {"read"}}
KEY_RE = re.compile(r"^twin_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,100})$")
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key id (never the secret) and its effective scopes."""

    key_id: str
    scopes: frozenset[str]


def effective_scopes(scopes: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for s in scopes:
        out |= IMPLIED[s]
    return frozenset(out)


def create_api_key(store: Store, name: str, scopes: Iterable[str]) -> str:
    """Create a key, store its hash and return the full key; it cannot be recovered later."""
    wanted = sorted(set(scopes))
    if not wanted or any(s not in SCOPES for s in wanted):
        raise TwinError(f"api key: scopes = {wanted!r} is invalid; expected a non-empty subset of {list(SCOPES)}")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise TwinError(f"api key: name = {name!r} is invalid; expected 1-100 characters")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.put_api_key(ApiKeyRecord(key_id, name, _hasher.hash(secret), frozenset(wanted), datetime.now(UTC)))
    log.info("created API key %s (%s) with scopes %s", key_id, name, ",".join(wanted))
    return f"twin_{key_id}_{secret}"


class KeyVerifier:
    """Checks presented keys against the store, with a short-lived cache of successful checks."""

    def __init__(self, store: Store, cache_s: float) -> None:
        self._store = store
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> Principal | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def verify(self, key: str) -> Principal | None:
        """The principal for a valid, unrevoked key; None otherwise (argon2: call off the event loop)."""
        hit = self.cached(key)
        if hit is not None:
            return hit
        m = KEY_RE.match(key)
        if not m:
            return None
        key_id, secret = m.groups()
        try:
            record = self._store.get_api_key(key_id)
            _hasher.verify(record.secret_hash, secret)
        except (UnknownKeyError, VerificationError, InvalidHashError):
            log.info("rejected API key id %s", key_id)
            return None
        except StoreError:
            log.exception("could not check API key id %s", key_id)
            return None
        if record.revoked:
            log.info("rejected revoked API key id %s", key_id)
            return None
        principal = Principal(key_id, effective_scopes(record.scopes))
        if self._cache_s > 0:
            digest = hashlib.sha256(key.encode()).hexdigest()
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (time.monotonic() + self._cache_s, principal)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
