"""Safe file writing: atomic replace, atomic directory publish, an exclusive lock."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from zoo.errors import ZooError


def _write_error(path: Path, e: OSError) -> ZooError:
    return ZooError(
        f"could not write {path}: {e.strerror or e}", hint="check the folder, free space and permissions"
    )


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike) -> Iterator[TextIO]:
    """A UTF-8 text file that appears at ``path`` only complete: a temp file, fsynced, then renamed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _write_error(path, e) from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _write_error(path, e) from e
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    with open_atomic(path) as f:
        f.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: object) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temp directory beside ``final``; on success it is renamed to ``final``.

    On any exception the temp directory is removed, so ``final`` is either absent or complete. With
    ``overwrite``, a ``final`` that exists (or that another process publishes meanwhile, e.g. two runs
    filling the same cache entry) is moved aside and replaced: the last writer wins, nobody fails.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise ZooError(f"{final} already exists", hint="remove it or pass --force")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        _publish_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish_dir(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``, moving an existing ``final`` aside first (to a fresh name: concurrent
    publishers do not collide) and retrying when another process publishes in between."""
    while True:
        try:
            os.replace(tmp, final)  # also replaces an empty directory
            return
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
        try:
            os.replace(final, old)
        except FileNotFoundError:  # gone meanwhile: the plain rename may work now
            old.rmdir()
            continue
        try:
            os.replace(tmp, final)
        except OSError as e:  # published again by another process in between: go round
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            continue
        finally:
            shutil.rmtree(old, ignore_errors=True)
        return


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str = "this output directory") -> Iterator[None]:
    """Hold an exclusive, non-blocking ``flock`` on ``path``; a second holder gets a clear ZooError.

    The kernel releases the lock when the process dies (even on kill -9), so no stale lock remains.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise ZooError(
                f"{what} is in use by {holder} (lock {path})",
                hint="wait for that run to finish, or use another --out / ZOO_WORK_DIR",
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        yield
    finally:
        f.close()
