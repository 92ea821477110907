"""One writer per output folder: an flock on DIR/.lock, which the kernel drops when its
process dies, so a lock left by a killed run is taken over by the next one."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import LockedError

LOCK = ".lock"


@contextmanager
def output_lock(output_dir: Path, wait_seconds: float = 0.0):
    """Hold DIR/.lock for the run; LockedError when another run holds it past the wait."""
    path = output_dir / LOCK
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = path.read_text().strip() or "another process"
                    raise LockedError(
                        f"{output_dir}: a refresh is already running ({holder}); "
                        "try later, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(descriptor, 0)
        os.write(
            descriptor, f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n".encode()
        )
        yield
    finally:
        os.close(descriptor)  # closing drops the flock
