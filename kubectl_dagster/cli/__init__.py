"""The command line. ``main`` is the one place that turns exceptions into exit codes and stderr."""
from __future__ import annotations

import os
import sys
from typing import List, Optional

from .. import constants, errors


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if args[:1] == ["render"]:  # Helm's path: skip click when the arguments are plainly valid
        from . import fastpath

        params = fastpath.parse(args[1:])
        if params is not None:
            return _guarded(lambda: _fast_render(params), debug)
    return _with_click(args, debug)


def _fast_render(params) -> int:
    from .render_run import run

    params = dict(params)
    params.pop("debug")
    run(**params)
    return 0


def _guarded(action, debug: bool) -> int:
    try:
        return action()
    except errors.Error as exc:
        return _fail(exc.line(), exc.exit_code, debug)
    except BrokenPipeError:
        return 141
    except Exception as exc:  # a bug: still one line, the traceback with --debug
        return _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)", 70, debug)


def _with_click(args: List[str], debug: bool) -> int:
    import click

    from . import commands

    def run() -> int:
        try:
            commands.cli.main(args=args, prog_name="kubectl-dagster", standalone_mode=False)
            return 0
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except click.exceptions.Abort:
            return _fail("aborted", 130, debug)
        except click.UsageError as exc:
            hint = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
            return _fail(f"{exc.format_message().rstrip('.')}{hint}", 2, debug)

    return _guarded(run, debug)


def _fail(line: str, code: int, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    message = f"error: {line}"
    print(message, file=sys.stderr)
    if os.environ.get(constants.HELM_PLUGIN_ENV):
        _report_to_helm_user(message)
    return code


def _report_to_helm_user(message: str) -> None:
    """Helm 4 discards a post-renderer plugin's stderr; leave the message where a user finds it.

    The terminal, when there is one (it shows right above Helm's own error), and a file that
    ``kubectl-dagster last-error`` prints (for CI logs).
    """
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(f"kubectl-dagster: {message}\n")
    except OSError:
        pass
    path = error_file()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(message + "\n")
    except OSError:
        pass


def error_file() -> str:
    explicit = os.environ.get(constants.ERROR_FILE_ENV)
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "kubectl-dagster", "last-error.log")
