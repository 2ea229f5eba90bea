"""How commands print: kubectl's change lines (``location/x created``), location documents as YAML or
JSON, tables, and progress while waiting."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Dict, List

from ..base import constants, yamlio
from ..core.registry import entries, listing


def echo(line: str = "", err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(line + "\n")
    stream.flush()


def change(outcome: entries.Outcome, output: str, dry_run: str, details: List[str]) -> None:
    """One changed location, as kubectl prints one changed object."""
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
    entry = outcome.new or outcome.old
    if output == "name":
        echo(f"location/{entry.name}")
    elif output in ("yaml", "json"):
        documents([document_item(entry)] if outcome.new else [], output, single=True)
    else:
        tail = f" ({'; '.join(details)})" if details else ""
        echo(f"location/{entry.name} {outcome.verb}{suffix}{tail}")


def document_item(entry: entries.Entry, resolved: bool = False) -> Dict[str, Any]:
    spec = dict(entry.resolved if resolved else entry.spec)
    spec.pop("name", None)
    return {"name": entry.name, **spec}


def documents(items: List[Dict[str, Any]], output: str, single: bool = False) -> None:
    """Locations as one CodeLocations document (or one bare item), in YAML or JSON."""
    if single:
        data: Any = items[0] if items else {}
    else:
        data = {"apiVersion": constants.API_VERSION, "kind": constants.KIND, "locations": items}
    if output == "json":
        echo(json.dumps(data, indent=2, default=str))
    else:
        sys.stdout.write(yamlio.dump(data) if data else "{}\n")


def data(value: Any, output: str) -> None:
    """Plain data (status rows) as JSON or YAML."""
    if output == "json":
        echo(json.dumps(value, indent=2))
    else:
        sys.stdout.write(yamlio.dump(value))


def table(rows: List[List[str]], headers: List[str], no_headers: bool = False) -> None:
    text = listing.table(rows, headers)
    sys.stdout.write(text.split("\n", 1)[1] if no_headers else text)


class Progress:
    """One line per state change. On a terminal they carry the elapsed time and a live ticker; in CI, plain lines."""

    def __init__(self, what: str):
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.what = what
        self.ticking = False

    def line(self, text: str) -> None:
        elapsed = time.monotonic() - self.start
        if self.tty:
            if self.ticking:
                sys.stderr.write("\r\033[K")
                self.ticking = False
            sys.stderr.write(f"[{elapsed:5.0f}s] {text}\n")
        else:
            sys.stderr.write(f"{self.what}: {text}\n")
        sys.stderr.flush()

    def tick(self, elapsed: float) -> None:
        if self.tty:
            sys.stderr.write(f"\r\033[Kwaiting for {self.what} … {elapsed:.0f}s")
            sys.stderr.flush()
            self.ticking = True

    def done(self) -> None:
        if self.tty and self.ticking:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
