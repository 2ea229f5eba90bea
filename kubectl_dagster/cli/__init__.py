"""The command line, one module per command; ``main`` is the one place that turns exceptions into exit codes
and stderr (0 success, 1 bad input or a failed operation, 2 usage, 70 a bug). May import: base, core, shells."""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from ..base import constants, errors
from ..shells import kube


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    kube.BUDGET.start(constants.API_BUDGET)  # one time budget for the API server, for the whole command
    debug = "--debug" in args
    if args[:1] == ["render"]:  # Helm's path: skip click when the arguments are plainly valid
        from . import optable, options, render

        params = optable.fast_parse(options.RENDER, args[1:])
        if params is not None:
            return _guarded(lambda: render.run(params) or 0, debug)
    return _with_click(args, debug)


def _guarded(action, debug: bool) -> int:
    try:
        return action()
    except errors.Error as exc:
        return _fail(exc.line(), exc.exit_code, debug)
    except BrokenPipeError:
        return 141
    except KeyboardInterrupt:
        return _fail("interrupted", 130, debug)
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
        from . import errorfile

        errorfile.report(message)
    return code
