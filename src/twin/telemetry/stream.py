"""An asyncio face for the ingest: ``async for batch in stream`` instead of a callback sink.

The ingest worker thread hands each batch over with back-pressure: if the asyncio consumer falls behind, the
worker waits (up to ``put_timeout_s``), the bounded MQTT hand-off queue fills, and overflow there is counted and
repaired by a rebirth. A batch that cannot be handed over within the timeout is counted in ``dropped_batches``
and logged - never silently lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Sequence

from twin.telemetry.samples import Sample

logger = logging.getLogger(__name__)
_END: list[Sample] = []


class AsyncSampleStream:
    """A :class:`~twin.telemetry.samples.SampleSink` that an asyncio task iterates over.

    Create it inside the event loop that will consume it::

        stream = AsyncSampleStream()
        async with SparkplugHost(config, stream):
            async for batch in stream:
                ...
    """

    def __init__(self, *, maxsize: int = 1_000, put_timeout_s: float = 5.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[list[Sample]] = asyncio.Queue(maxsize)
        self._put_timeout_s = put_timeout_s
        self.dropped_batches = 0

    def accept(self, samples: Sequence[Sample]) -> None:
        future = asyncio.run_coroutine_threadsafe(self._queue.put(list(samples)), self._loop)
        try:
            future.result(self._put_timeout_s)
        except (concurrent.futures.TimeoutError, RuntimeError):
            future.cancel()
            self.dropped_batches += 1
            logger.error(
                "async consumer did not take a batch of %d samples within %.1f s; dropped (%d so far)",
                len(samples),
                self._put_timeout_s,
                self.dropped_batches,
            )

    def close(self) -> None:
        """End the iteration (call from the event loop)."""
        self._queue.put_nowait(_END)

    def __aiter__(self) -> AsyncSampleStream:
        return self

    async def __anext__(self) -> list[Sample]:
        batch = await self._queue.get()
        if batch is _END:
            raise StopAsyncIteration
        return batch
