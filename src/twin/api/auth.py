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
SCOPES = ("read", "run", "admin", "operate")
# ``operate`` (write setpoints to PLCs, issue 10 item 7) is granted on its own: no other scope implies it, and
# open access (the demo) never carries it (twin.api.routes.setpoints).
IMPLIED = {
    "admin": {"admin", "run", "read"},
    "run": {"run", "read"},
    "read": {"read"},
    "operate": {"operate", "read"},
}
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
    """Checks presented keys against the store so that attacking it costs the server (almost) nothing.

    * A verified key is remembered for ``cache_s`` (by SHA-256 of the whole key), so polling is cheap.
    * A failed key (known id with a wrong secret, unknown id, revoked) is remembered for ``fail_cache_s``:
      repeating it costs one dictionary look-up, not an argon2 check.
    * An unknown id costs the same argon2 check as a known one the first time (against a dummy hash), so
      the answer time does not tell which key ids exist.
    * At most ``max_concurrent`` argon2 checks run at once (each takes ~64 MiB and ~0.1-0.3 s of CPU).
    """

    def __init__(self, store: Store, cache_s: float, *, fail_cache_s: float = 300.0, max_concurrent: int = 2) -> None:
        self._store = store
        self._cache_s = cache_s
        self._fail_cache_s = fail_cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        self._argon2_slots = threading.BoundedSemaphore(max_concurrent)
        self._in_flight = 0
        self.counters = {"argon2_checks": 0, "argon2_peak_concurrent": 0, "failures": 0, "failures_from_cache": 0}

    def cached(self, key: str) -> Principal | None:
        """The principal of a recently verified key, without touching argon2 or the store."""
        hit = self._lookup(key)
        return hit[1] if hit is not None else None

    def cached_failure(self, key: str) -> bool:
        hit = self._lookup(key)
        return hit is not None and hit[1] is None

    def _lookup(self, key: str) -> tuple[float, Principal | None] | None:
        digest = _digest(key)
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] <= time.monotonic():
                del self._cache[digest]
                return None
        return hit

    def verify(self, key: str) -> Principal | None:
        """The principal for a valid, unrevoked key; None otherwise (argon2: call off the event loop)."""
        hit = self._lookup(key)
        if hit is not None:
            if hit[1] is None:
                self._count("failures_from_cache")
            return hit[1]
        m = KEY_RE.fullmatch(key)
        if not m:
            self._count("failures")
            return None  # malformed: no id to look up, nothing to learn from the timing
        key_id, secret = m.groups()
        principal = self._check(key_id, secret)
        if principal is None:
            self._count("failures")
            self._remember(key, None, self._fail_cache_s)
        elif self._cache_s > 0:
            self._remember(key, principal, self._cache_s)
        return principal

    def _check(self, key_id: str, secret: str) -> Principal | None:
        try:
            record: ApiKeyRecord | None = self._store.get_api_key(key_id)
        except UnknownKeyError:
            record = None
        except StoreError:
            log.exception("could not check API key id %s", key_id)
            return None
        with self._argon2_slots:
            with self._lock:
                self.counters["argon2_checks"] += 1
                self._in_flight += 1
                self.counters["argon2_peak_concurrent"] = max(self.counters["argon2_peak_concurrent"], self._in_flight)
            try:  # an unknown id is checked against a dummy hash: the same work, the same time
                _hasher.verify(record.secret_hash if record is not None else _dummy_hash(), secret)
                valid = record is not None
            except (VerificationError, InvalidHashError):
                valid = False
            finally:
                with self._lock:
                    self._in_flight -= 1
        if not valid or record is None:
            log.info("rejected API key id %s", key_id)
            return None
        if record.revoked:
            log.info("rejected revoked API key id %s", key_id)
            return None
        return Principal(key_id, effective_scopes(record.scopes))

    def _remember(self, key: str, principal: Principal | None, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[_digest(key)] = (time.monotonic() + ttl, principal)

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def forget(self) -> None:
        """Drop every remembered answer (after a key is revoked)."""
        with self._lock:
            self._cache.clear()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """An argon2 hash with the same parameters as real keys, of a secret nobody knows (made once)."""
    if not _DUMMY:
        _DUMMY.append(_hasher.hash(secrets.token_urlsafe(32)))
    return _DUMMY[0]
