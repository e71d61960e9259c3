"""One writer per output: an exclusive lock on ``OUTPUT.lock``, held for the whole run.

The process that writes OUTPUT (rank 0 of a run) holds an ``flock`` on the lock
file beside it and writes its host, pid and start time there. The kernel drops
the lock when its holder exits, however it ends, so a killed job leaves no
stale lock; a second writer is refused at once, with the holder's details.
Readers ask :func:`holder` whether a writer is live.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from hpcnet.errors import HpcnetError

log = logging.getLogger("hpcnet")

#: A reader's probe holds the lock for microseconds: a writer retries this long before it gives up.
RETRY_SECONDS = 0.5
#: flock errors of file systems without locks (Lustre mounted without -o flock, ...).
UNSUPPORTED = (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL)


def lock_path(output) -> Path:
    """``OUTPUT.lock``, beside ``output``."""
    output = Path(output)
    return output.with_name(output.name + ".lock")


def _details(fd: int) -> str:
    text = os.pread(fd, 512, 0).decode(errors="replace").strip()
    return text or "details not written yet"


class OutputLock:
    """The exclusive lock of one output: :meth:`acquire` it; leaving ``with`` releases it."""

    def __init__(self, output):
        self.output = Path(output)
        self.path = lock_path(output)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`HpcnetError` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise HpcnetError(f"{self.path}: cannot create the lock file: "
                                  f"{exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                details = _details(fd)
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise HpcnetError(
                    f"{self.output} is being written by another run ({details}); wait for "
                    f"it to end or stop it (`hpcnet stats {self.output}` shows its progress)"
                ) from None
            except OSError as exc:
                os.close(fd)
                if exc.errno not in UNSUPPORTED:
                    raise HpcnetError(f"{self.path}: cannot lock: {exc.strerror}") from None
                log.warning("%s: this file system has no locks (%s): nothing stops a second "
                            "run from writing the same output", self.path, exc.strerror)
                return
            if _same_file(fd, self.path):  # not a name a previous holder just removed
                break
            os.close(fd)
        started = datetime.now().astimezone().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"host {socket.gethostname()}, pid {os.getpid()}, started {started}\n"
                  .encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file and drop the lock (nothing if not held)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still held: nobody locks a removed name
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def holder(output) -> str | None:
    """The live writer of ``output`` ('host H, pid P, started T'), or None when there is none."""
    try:
        fd = os.open(lock_path(output), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _details(fd)
    except OSError:  # no locks on this file system: nothing to tell
        return None
    finally:
        os.close(fd)
    return None
