"""Atomic writes: a reader sees the old file (or directory) or the new one, never half of one."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


# --- directories -------------------------------------------------------------------
# A directory output (a model, a report) is built in a staging directory beside its
# target and swapped in whole. Staging names carry a tag, the host and the pid, so
# that a later run can tell the leftovers of a killed run from a run still going.

_TAG = "pluralist-staging"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


@contextlib.contextmanager
def staged_directory(target: str | os.PathLike):
    """Yield a new empty directory beside `target`; when the block succeeds it takes
    target's place in one step (Linux renameat2; elsewhere two renames, see
    _swap_into_place) and the old one, if any, is removed after. On failure the
    staging directory is removed and `target` is as it was.

    The caller decides whether `target` may be replaced at all (this replaces any
    directory it is given)."""
    target = Path(target)
    if target.is_symlink():  # replace the directory the link names; the link stays
        target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _new_staging(target)
    try:
        yield staging
        _sync_tree(staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after a swap: the previous target
    remove_stale_staging(target)


def _new_staging(target: Path) -> Path:
    for _ in range(100):
        path = target.with_name(f".{target.name}.{_TAG}-{_host()}-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            path.mkdir()  # mode 0777 less the umask, like every other output
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot make a staging directory beside {target}")


def _swap_into_place(staging: Path, target: Path) -> None:
    """Put `staging` at `target`; what was at `target` ends up at `staging`."""
    if not target.exists() and not target.is_symlink():
        os.rename(staging, target)   # fails rather than overwrite one that appeared meanwhile
    elif not _exchange(staging, target):
        # No atomic swap on this system: two renames, and a kill between them leaves
        # the previous directory under the staging name until the next run.
        aside = _new_staging(target)
        os.rename(target, aside / "previous")
        os.rename(staging, target)
        os.rename(aside / "previous", staging)
        aside.rmdir()
    _sync_dir(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def remove_stale_staging(target: str | os.PathLike) -> list[Path]:
    """Remove the staging directories beside `target` left by runs on this host whose
    process is gone; only names this module makes are touched. Returns those removed."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{_TAG}-{_host()}-(\d+)-[0-9a-f]{{8}}")
    removed = []
    with contextlib.suppress(OSError):
        for path in target.parent.iterdir():
            match = pattern.fullmatch(path.name)
            if match and path.is_dir() and not path.is_symlink() and not _alive(int(match[1])):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _alive(pid: int) -> bool:
    """Whether process `pid` exists; where that cannot be asked safely, assume it does."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True   # exists, owned by someone else
    return True


def _sync_tree(root: Path) -> None:
    """Flush the files of `root` to disk before it is swapped in: after a crash the
    target holds the old directory or the complete new one."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _sync_dir(root)


def _sync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
