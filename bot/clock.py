"""The one wall clock.

Every part that stamps a time or compares with one (transcripts, queues,
sessions, imports) takes a Clock at construction, so that tests and
`helpline flows test` can run at a fixed time. Waiting for something (a
timeout, a long poll, pacing) uses time.monotonic instead: it measures a
duration, never a date, and no test needs to move it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]  # seconds since the epoch, like time.time

wall_clock: Clock = time.time
