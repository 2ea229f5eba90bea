"""One exception tree. Each error carries the problem and the fix; cli.main prints it on one line."""

from __future__ import annotations

from typing import Any, List, NamedTuple, Optional

EXCERPT = 60  # characters of a user's value an error message quotes at most
MORE_PROBLEMS = 5  # problems a LocationError lists besides the first


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
        return f"{self.message}; {self.fix}" if self.fix else self.message


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


class Problem(NamedTuple):
    """One validation finding: where it is and what is wrong."""

    file: str
    line: Optional[int]
    location: Optional[str]
    message: str
    path: tuple = ()  # key path inside the file, used to look the line up

    def render(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        who = f" location {self.location!r}" if self.location else ""
        return f"{where}:{who} {self.message}"


class LocationError(Error):
    """One or more locations are invalid. All problems are reported together."""

    def __init__(self, problems: List[Problem]):
        self.problems = problems
        first = problems[0].render()
        listed = "; ".join(p.render() for p in problems[1 : 1 + MORE_PROBLEMS])
        rest = len(problems) - 1 - MORE_PROBLEMS
        listed += f"; and {rest} more" if rest > 0 else ""
        more = f" (and {len(problems) - 1} more problem(s): {listed})" if len(problems) > 1 else ""
        super().__init__(f"invalid locations: {first}{more}", "fix the locations file and run again")


class ConfigError(Error):
    """The project config file (.kubectl-dagster.yaml) is invalid. All problems are reported together."""

    def __init__(self, problems: List[Problem]):
        self.problems = problems
        first = problems[0].render()
        more = (
            f" (and {len(problems) - 1} more problem(s): {'; '.join(p.render() for p in problems[1:])})"
            if len(problems) > 1
            else ""
        )
        super().__init__(f"invalid project config: {first}{more}", "fix the project config file and run again")


class PolicyError(Error):
    """A registry entry goes past the platform's LocationPolicy, or past the default rules without one."""
