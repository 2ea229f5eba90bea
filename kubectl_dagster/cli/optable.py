"""Options as rows of a table (:class:`Opt`), read two ways. :func:`decorate` turns rows into click options; for
``render``, which Helm runs on every upgrade, :func:`fast_parse` reads the same rows without importing click at all
(click costs a third of a small render) and gives up, leaving the arguments to click, on anything that is not plainly
valid. tests/unit/test_cli.py checks that both read every argument list the same way. click is imported inside
functions, never at module level."""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple


class Opt(NamedTuple):
    names: Tuple[str, ...]  # ("-n", "--namespace")
    dest: str
    help: str
    default: Any = None
    flag: bool = False
    multiple: bool = False
    choices: Tuple[str, ...] = ()
    envvar: Optional[str] = None
    metavar: Optional[str] = None
    expose: bool = True  # False: parsed, not passed to the command (--debug, read by cli.main)
    show_default: bool = False
    kind: str = "text"  # text, int, or port (1-65535)


def decorate(rows: Sequence[Opt]) -> Callable:
    """A decorator adding ``rows`` as click options, in the order given (as --help lists them)."""
    import click

    def apply(func):
        for row in reversed(rows):
            kwargs: Dict[str, Any] = {"help": row.help, "expose_value": row.expose, "show_default": row.show_default}
            if row.flag:
                kwargs["is_flag"] = True
            else:
                kwargs.update(default=row.default, multiple=row.multiple, envvar=row.envvar, metavar=row.metavar)
                if row.choices:
                    kwargs["type"] = click.Choice(row.choices)
                elif row.kind != "text":
                    kwargs["type"] = click.IntRange(1, 65535) if row.kind == "port" else int
            func = click.option(*row.names, row.dest, **kwargs)(func)
        return func

    return apply


def fast_parse(rows: Sequence[Opt], args: List[str]) -> Optional[Dict[str, Any]]:
    """The parameters click would give for ``args``, or None to let click handle them."""
    by_name = {name: row for row in rows for name in row.names}
    params: Dict[str, Any] = {row.dest: _default(row) for row in rows if row.expose}
    multiple: Dict[str, List[str]] = {row.dest: [] for row in rows if row.multiple}
    index = 0
    while index < len(args):
        name, eq, value = args[index].partition("=")
        row = by_name.get(name)
        if row is None or (row.flag and eq) or (eq and name.startswith("-") and not name.startswith("--")):
            return None  # unknown, --flag=x, or -n=x (click reads "=x" as the value): click decides
        if row.flag:
            value, index = True, index + 1
        elif eq:
            index += 1
        elif index + 1 < len(args):
            value, index = args[index + 1], index + 2
        else:
            return None
        if row.choices and value not in row.choices:
            return None
        if not row.expose:
            continue
        if row.multiple:
            multiple[row.dest].append(value)
        else:
            params[row.dest] = value
    params.update({dest: tuple(values) for dest, values in multiple.items()})
    return params


def _default(row: Opt) -> Any:
    if row.flag:
        return False
    if row.envvar and os.environ.get(row.envvar):
        return os.environ[row.envvar]
    return () if row.multiple else row.default
