"""The git registry: a CodeLocations file, or a directory with one file per location.

Every change runs under an exclusive ``flock`` on the directory that holds the file(s), so
concurrent writers queue instead of losing updates, and lands by an atomic rename of a fully
written, fsynced temporary file, so a killed writer leaves the previous file intact. The text
edits themselves are ``fileedit``'s.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from ...base import constants, errors, yamlio
from ...core.registry import entries
from .. import sources
from . import fileedit

NEW_FILE_HEADER = "# A code location, managed with `kubectl dagster add-location`.\n"


class FileStore:
    kind = "file"
    attempts = 1  # writers queue on the lock, so there is no race to retry

    def __init__(self, path: str):
        sources.check_path(path)
        self.path = path
        self.is_dir = os.path.isdir(path) or (not os.path.exists(path) and not path.endswith(sources.SUFFIXES))

    def describe(self) -> str:
        return self.path

    # -- reading -------------------------------------------------------------------------------
    def _files(self) -> List[str]:
        if self.is_dir:
            return sources.files_of(self.path) if os.path.isdir(self.path) else []
        return [self.path] if os.path.exists(self.path) else []

    def _read_all(self) -> Tuple[Dict[str, str], List[Tuple[str, fileedit.Slot]], Dict]:
        texts = {name: sources.read_text(name) for name in self._files()}
        dir_defaults = (
            sources.directory_defaults([(name, fileedit.load_docs(text, name)) for name, text in texts.items()])
            if self.is_dir
            else {}
        )
        found = []
        for name, text in texts.items():
            found += [(name, slot) for slot in fileedit.slots(text, name, dir_defaults)]
        return texts, found, dir_defaults

    def entries(self) -> List[entries.Entry]:
        _, found, _ = self._read_all()
        return [_entry(name, slot) for name, slot in found]

    def reserved_ports(self) -> Set[int]:
        return {constants.FIRST_PORT}

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive flock on the directory that holds the file(s): concurrent writers queue."""
        directory = self.path if self.is_dir else (os.path.dirname(os.path.abspath(self.path)))
        if self.is_dir:
            os.makedirs(directory, exist_ok=True)
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError as exc:
            raise errors.RegistryError(f"cannot open {directory}: {exc.strerror}", "check --locations") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def snapshot(self, name: str) -> entries.Snapshot:
        """Call under ``locked()``: the entry, every entry, and the file a new entry goes to."""
        texts, found, dir_defaults = self._read_all()
        current = [_entry(file, slot) for file, slot in found]
        hit = next(((file, slot) for file, slot in found if slot.name == name), None)
        if hit:
            file, slot = hit
            defaults = dir_defaults if slot.item is None else fileedit.file_defaults(texts[file], file)
        else:
            file, slot = (os.path.join(self.path, f"{name}.yaml"), None) if self.is_dir else (self.path, None)
            defaults = dir_defaults if self.is_dir else fileedit.file_defaults(texts.get(file, ""), file)
        old = _entry(file, slot) if slot is not None else None
        return entries.Snapshot(old, current, defaults, file, f"file:{file}", token=(file, texts.get(file), slot))

    def write(self, snap: entries.Snapshot, spec: Optional[Dict[str, Any]], server_dry_run: bool) -> None:
        if server_dry_run:
            raise errors.InputError(
                "--dry-run=server needs the cluster registry", "use --dry-run=client with --locations"
            )
        file, text, slot = snap.token
        if slot is None:  # a new entry
            if self.is_dir:
                if os.path.exists(file):
                    raise errors.ExistsError(
                        f"{file} exists but does not hold this location", "move that file away or pick another name"
                    )
                _atomic_write(file, NEW_FILE_HEADER + yamlio.dump(spec), exclusive=True)
            else:
                _atomic_write(file, fileedit.add(text or "", spec, file))
        elif spec is None:
            new = fileedit.remove(text, slot, file, drop_empty=self.is_dir)
            if new:
                _atomic_write(file, new)
            else:
                os.unlink(file)
                _fsync_dir(os.path.dirname(os.path.abspath(file)))
        else:
            _atomic_write(file, fileedit.replace(text, slot, spec, file))


def _entry(file: str, slot: fileedit.Slot) -> entries.Entry:
    return entries.Entry(slot.name, slot.raw, f"file:{file}", slot.resolved, created=None)


def _atomic_write(path: str, text: str, exclusive: bool = False) -> None:
    """Write ``path`` all at once: temp file beside it, fsync, then rename (or link, when it must not exist)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        if exclusive:
            os.link(tmp, path)  # fails if path appeared meanwhile
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except FileExistsError as exc:
        raise errors.ExistsError(f"{path} already exists", "pick another name") from exc
    except OSError as exc:
        raise errors.RegistryError(
            f"cannot write {path}: {exc.strerror}", "check the permissions; nothing was changed"
        ) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(directory)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
