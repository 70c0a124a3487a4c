"""API keys with scopes, stored hashed (argon2id) in the store; the secret is shown once, never logged.

A key looks like ``twin_<key_id>_<secret>``: the id finds the record, the secret is checked against its
argon2 hash. Verified keys are remembered (by SHA-256 of the key) for ``auth_cache_s`` so polling dashboards
do not pay for argon2 on every request; revocation takes effect within that time.

The API checks keys with :meth:`KeyVerifier.verify_async` (``twin.api.deps.authenticate``): argon2 runs on the
verifier's own two threads, never on the thread pool that every sync route and dependency shares, each client
address may have only so many checks in flight or failed per minute, and concurrent requests with the same
key share one check.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from twin.api.ratelimit import FailureLimiter
from twin.api.validators import first_non_text
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
ARGON2_S = 0.3  # [C] the slowest argon2 check seen (0.1-0.3 s of CPU): estimates Retry-After when busy
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
    bad = first_non_text(name)  # the HTTP route checks this too; the command line came here unchecked
    if bad is not None:
        raise TwinError(f"api key: name = {name!r} is invalid; expected text without control, line-break or "
                        f"bidirectional-control characters (found U+{ord(bad):04X})")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.put_api_key(ApiKeyRecord(key_id, name, _hasher.hash(secret), frozenset(wanted), datetime.now(UTC)))
    log.info("created API key %s (%s) with scopes %s", key_id, name, ",".join(wanted))
    return f"twin_{key_id}_{secret}"


class CheckRefused(Exception):  # noqa: N818 - a refusal, answered as a problem, not a fault
    """An argon2 check that was not started; ``retry_after`` is a whole number of seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class ChecksSpent(CheckRefused):
    """The client address has ``max_checks`` checks in flight or failed within the window (answered 429)."""


class VerifierBusy(CheckRefused):
    """Every argon2 thread is busy and the wait queue is full (answered 503)."""


class KeyVerifier:
    """Checks presented keys against the store so that attacking it costs the server (almost) nothing.

    * A verified key is remembered for ``cache_s`` (by SHA-256 of the whole key), so polling is cheap.
    * A failed key (known id with a wrong secret, unknown id, revoked) is remembered for ``fail_cache_s``:
      repeating it costs one dictionary look-up, not an argon2 check.
    * An unknown id costs the same argon2 check as a known one the first time (against a dummy hash), so
      the answer time does not tell which key ids exist.
    * At most ``max_concurrent`` argon2 checks run at once (each takes ~64 MiB and ~0.1-0.3 s of CPU), on the
      verifier's own threads: a queue of checks must not hold the threads that every sync route needs.
    * :meth:`verify_async` starts a check only within the client's failure limit (charged before it starts) and
      while at most ``max_queued`` checks wait for a thread; requests with a key already being checked await it.
    """

    def __init__(
        self,
        store: Store,
        cache_s: float,
        *,
        fail_cache_s: float = 300.0,
        max_concurrent: int = 2,
        max_queued: int = 32,
    ) -> None:
        self._store = store
        self._cache_s = cache_s
        self._fail_cache_s = fail_cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        # The executor alone bounds the checks started by verify_async; the semaphore also bounds direct
        # callers of verify() (command line, tests), which run on their own threads.
        self._argon2_slots = threading.BoundedSemaphore(max_concurrent)
        self._max_concurrent = max_concurrent
        self._max_pending = max_concurrent + max_queued
        # Threads start on first use and end when the verifier is collected (ThreadPoolExecutor's weak reference).
        self._executor = concurrent.futures.ThreadPoolExecutor(max_concurrent, thread_name_prefix="twin-argon2")
        self._pending: dict[str, concurrent.futures.Future[Principal | None]] = {}  # by digest: checks not done
        self._in_flight = 0
        self.counters = {
            "argon2_checks": 0,
            "argon2_peak_concurrent": 0,
            "failures": 0,
            "failures_from_cache": 0,
            "checks_shared": 0,
            "busy": 0,
        }

    def cached(self, key: str) -> Principal | None:
        """The principal of a recently verified key, without touching argon2 or the store."""
        hit = self._lookup(key)
        return hit[1] if hit is not None else None

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
        answered, principal, m = self._answer_at_once(key)
        if answered or m is None:
            return principal
        return self._verify_match(key, *m.groups())

    def _answer_at_once(self, key: str) -> tuple[bool, Principal | None, re.Match[str] | None]:
        """(answered, principal, match): a remembered answer or a malformed key needs no argon2 check; else
        the key's match (id, secret) for one."""
        hit = self._lookup(key)
        if hit is not None:
            if hit[1] is None:
                self._count("failures_from_cache")
            return True, hit[1], None
        m = KEY_RE.fullmatch(key)
        if not m:
            self._count("failures")
            return True, None, None  # malformed: no id to look up, nothing to learn from the timing
        return False, None, m

    async def verify_async(self, key: str, client: str, limiter: FailureLimiter) -> Principal | None:
        """:meth:`verify` for the event loop: the principal for a valid, unrevoked key; None otherwise, counted
        as a failure of ``client`` in ``limiter``.

        A remembered answer or a malformed key is answered at once. A key that is already being checked waits
        for that check. Otherwise a new check is charged to ``client`` before it starts
        (:meth:`FailureLimiter.charge`; given back if the key is valid) and queued for the argon2 threads.
        Raises :class:`ChecksSpent` when the client has no failures left and :class:`VerifierBusy` when the queue
        is full; neither starts any work. The waiting is done on the event loop, holding no thread.
        """
        answered, principal, m = self._answer_at_once(key)
        if answered or m is None:
            if principal is None:
                limiter.record(client)
            return principal
        digest = _digest(key)
        stamp = 0.0  # the charge of a check this request starts
        with self._lock:
            shared = self._pending.get(digest)
            if shared is not None:
                self.counters["checks_shared"] += 1
            else:
                if len(self._pending) >= self._max_pending:
                    self.counters["busy"] += 1
                    raise VerifierBusy(max(1, math.ceil(len(self._pending) * ARGON2_S / self._max_concurrent)))
                charged, wait = limiter.charge(client)
                if charged is None:
                    raise ChecksSpent(wait or 1)
                stamp = charged
                # Registered before the lock is let go, so a request with the same key arriving meanwhile joins it.
                self._pending[digest] = concurrent.futures.Future()
            check = self._pending[digest]
        if shared is None:  # outside the lock: _settle takes it, and runs at once if the check is already over
            check.add_done_callback(lambda done: self._settle(digest, client, limiter, stamp, done))
            self._executor.submit(self._run, check, key, *m.groups())
        # Shielded: a request that goes away (client disconnect, timeout) must not cancel a check others await.
        principal = await asyncio.shield(asyncio.wrap_future(check))
        if principal is None and shared is not None:  # this request's own failure (the check's was charged)
            limiter.record(client)
        return principal

    def _run(self, check: concurrent.futures.Future[Principal | None], key: str, key_id: str, secret: str) -> None:
        if not check.set_running_or_notify_cancel():
            return
        try:
            check.set_result(self._verify_match(key, key_id, secret))
        except BaseException as exc:  # handed to the awaiting requests: a broken check must not hang them
            check.set_exception(exc)

    def _settle(
        self,
        digest: str,
        client: str,
        limiter: FailureLimiter,
        stamp: float,
        check: concurrent.futures.Future[Principal | None],
    ) -> None:
        """Runs when a check ends (on its argon2 thread): later requests use the cache it filled; a valid key's
        charge is given back."""
        valid = not check.cancelled() and check.exception() is None and check.result() is not None
        with self._lock:
            if self._pending.get(digest) is check:
                del self._pending[digest]
        if valid:
            limiter.refund(client, stamp)

    def _verify_match(self, key: str, key_id: str, secret: str) -> Principal | None:
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
