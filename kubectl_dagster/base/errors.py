"""One exception tree. Each error carries the problem and the fix; cli.main prints it on one line."""

from __future__ import annotations

from typing import Any, List, NamedTuple, Optional

EXCERPT = 60  # characters of a user's value an error message quotes at most
MORE_PROBLEMS = 5  # problems a LocationError lists besides the first, as far as the line has room
LINE = 293  # characters of an error's line: with "error: " in front, stderr gets at most 300


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A value the user gave, as an error quotes it: ``repr`` cut to ``limit`` characters, and only
    the type of a mapping, list or other object (never its expansion)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if not (value is None or isinstance(value, (str, int, float, bool))):
        return f"a {type(value).__name__}"
    text = repr(value[:limit] if isinstance(value, str) else value)
    cut = len(text) > limit or (isinstance(value, str) and len(value) > limit)
    return text[: limit - 3] + "..." if cut else text


class Error(Exception):
    """Base class of every error kubectl-dagster reports (named apart from Dagster's own
    ``DagsterError``). ``fix`` says what the user should do; it ends the stderr line."""

    exit_code = 1

    def __init__(self, message: str, fix: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def line(self) -> str:
        """``problem; fix`` in at most :data:`LINE` characters: a long problem is cut, the fix kept."""
        fix = f"; {self.fix}" if self.fix else ""
        if len(self.message) + len(fix) <= LINE:
            return self.message + fix
        fix = fix if len(fix) <= LINE // 2 else ""
        return self.message[: LINE - len(fix) - 3] + "..." + fix


class UsageError(Error):
    """The command line itself is wrong (exit 2, as click's usage errors)."""

    exit_code = 2


class InputError(Error):
    """The manifest stream or a flag is unusable."""


class ReleaseError(Error):
    """The Dagster release could not be found, or more than one was."""


class ExistsError(Error):
    """A location (or its file) already exists where a new one was to be created."""


class ChartConflictError(Error):
    """The chart itself already renders a location of the same name."""


class WriteConflictError(Error):
    """A registry write kept meeting concurrent changes (HTTP 409) and gave up."""


class RegistryError(Error):
    """Reading or writing the location registry failed."""


class ClusterError(Error):
    """The Kubernetes API refused or could not be reached."""


class UnreachableError(ClusterError):
    """The API server gave no answer (no connection, a timeout, the command's time spent): asking it
    again, even for something optional, only makes the command slower."""


class Problem(NamedTuple):
    """One validation finding: where it is and what is wrong."""

    file: str
    line: Optional[int]
    location: Optional[str]
    message: str
    path: tuple = ()  # key path inside the file, used to look the line up

    def render(self, same_file: bool = False) -> str:
        """``file:line: location 'x' message``; after a problem of the same file, ``line N: …``."""
        if same_file:
            return (
                (f"line {self.line}:" if self.line else "")
                + (f" location {self.location!r}" if self.location else "")
                + f" {self.message}"
            )
        where = self.file + (f":{self.line}" if self.line else "")
        who = f" location {self.location!r}" if self.location else ""
        return f"{where}:{who} {self.message}"


def summary(head: str, problems: List[Problem], room: int) -> str:
    """The first problem, then as many more (up to MORE_PROBLEMS) as ``room`` characters hold, the last one cut
    to fit; always the count of the others."""
    first = head + problems[0].render()
    if len(problems) == 1:
        return first
    opening = f" (and {len(problems) - 1} more problem(s)"
    left = room - len(first) - len(opening) - len("; and 99 more)") - 2
    shown: List[str] = []
    for problem in problems[1 : 1 + MORE_PROBLEMS]:
        text = problem.render(same_file=problem.file == problems[0].file)
        cost = len(text) + (2 if shown else 0)
        if cost > left:
            if left >= 30:
                shown.append(text[: left - (5 if shown else 3)] + "...")
            break
        shown.append(text)
        left -= cost
    hidden = len(problems) - 1 - len(shown)
    listed = "; ".join(shown) + (f"; and {hidden} more" if shown and hidden else "")
    return f"{first}{opening}{': ' + listed if shown else ''})"


class LocationError(Error):
    """One or more locations are invalid. All problems are reported together."""

    def __init__(self, problems: List[Problem]):
        self.problems = problems
        fix = "fix the locations file and run again"
        super().__init__(summary("invalid locations: ", problems, LINE - len(fix) - 2), fix)


class ConfigError(Error):
    """The project config file (.kubectl-dagster.yaml) is invalid. All problems are reported together."""

    def __init__(self, problems: List[Problem]):
        self.problems = problems
        fix = "fix the project config file and run again"
        super().__init__(summary("invalid project config: ", problems, LINE - len(fix) - 2), fix)


class PolicyError(Error):
    """A registry entry goes past the platform's LocationPolicy, or past the default rules without one."""
