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
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from . import errors, fileedit, sources, yamlio
from .core import locations as locs, entries as registry

Change = Callable[[Optional[registry.Entry], List[registry.Entry], Dict], Optional[Dict]]


class FileStore:
    kind = "file"

    def __init__(self, path: str):
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
        dir_defaults = sources.directory_defaults([(name, fileedit.load_docs(text, name)) for name, text in texts.items()]) \
            if self.is_dir else {}
        found = []
        for name, text in texts.items():
            found += [(name, slot) for slot in fileedit.slots(text, name, dir_defaults)]
        return texts, found, dir_defaults

    def entries(self) -> List[registry.Entry]:
        _, found, _ = self._read_all()
        return [_entry(name, slot) for name, slot in found]

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
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

    def mutate(self, name: str, change: Change, dry_run: str = "none") -> Tuple[Optional[registry.Entry], Optional[registry.Entry]]:
        """Apply ``change`` to entry ``name`` under the lock: (old, new); None for absent."""
        if dry_run == "server":
            raise errors.InputError("--dry-run=server needs the cluster registry", "use --dry-run=client with --locations")
        with self._locked():
            texts, found, dir_defaults = self._read_all()
            current = [_entry(file, slot) for file, slot in found]
            hit = next(((file, slot) for file, slot in found if slot.name == name), None)
            old = _entry(*hit) if hit else None
            if hit:
                file = hit[0]
                defaults = dir_defaults if hit[1].item is None else fileedit.file_defaults(texts[file], file)
            elif self.is_dir:
                file = os.path.join(self.path, f"{name}.yaml")
                defaults = dir_defaults
            else:
                file = self.path
                defaults = fileedit.file_defaults(texts.get(file, ""), file)
            new_spec = change(old, current, defaults)
            if new_spec is None and old is None:
                return None, None
            new = None
            if new_spec is not None:
                resolved = locs.deep_merge(defaults, new_spec)
                registry.validate(name, resolved, file)
                new = registry.Entry(name, new_spec, f"file:{file}", resolved)
                if old is not None and old.spec == new_spec:
                    return old, new
            if dry_run == "client":
                return old, new
            self._write(file, texts.get(file), hit[1] if hit else None, new_spec)
            return old, new

    def _write(self, file: str, text: Optional[str], slot: Optional[fileedit.Slot], spec: Optional[Dict]) -> None:
        if slot is None:  # a new entry
            if self.is_dir:
                if os.path.exists(file):
                    raise errors.ExistsError(f"{file} exists but does not hold this location", "move that file away or pick another name")
                _atomic_write(file, "# A code location, managed with `kubectl dagster add-location`.\n" + yamlio.dump(spec),
                              exclusive=True)
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


def _entry(file: str, slot: fileedit.Slot) -> registry.Entry:
    return registry.Entry(slot.name, slot.raw, f"file:{file}", slot.resolved, created=None)


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
        raise errors.RegistryError(f"cannot write {path}: {exc.strerror}", "check the permissions; nothing was changed") from exc
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
