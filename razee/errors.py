"""One error hierarchy for the whole project.

Every error a user can cause or meet carries its exit code and a one-line message, so the CLI's single error
boundary can report it without a traceback. Exit codes follow `kubectl diff` / `terraform plan -detailed-exitcode`:
0 ok, 1 findings or changes (where a command says so), 2 user or input errors, 3 unexpected errors, 4 a remote
service (cluster, git server, hub) failed or could not be reached, 130 interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_CHANGES = 1
EXIT_USER_ERROR = 2
EXIT_INTERNAL = 3
EXIT_SERVICE = 4
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """Where in the fleet repo a problem is; any part may be unknown."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file or "<unknown>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return where


@dataclass(frozen=True)
class Finding:
    """One problem in the fleet repo, reported as `file:line: field: message`."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class RazeeError(Exception):
    """Base of every error razee reports to a user."""

    exit_code: int = EXIT_USER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(RazeeError):
    """The command line asked for something that cannot be done."""


class InputError(RazeeError):
    """The fleet repo (YAML, schema, templates) is invalid. Carries every finding, not just the first."""

    def __init__(self, findings: list[Finding], summary: str | None = None) -> None:
        self.findings = list(findings)
        lines = [str(f) for f in self.findings]
        if len(lines) == 1 and summary is None:
            super().__init__(lines[0])
            return
        head = summary or f"{len(lines)} problems found"
        super().__init__(head + "".join("\n  " + line for line in lines))


class SourceError(RazeeError):
    """A fleet repo or revision could not be read (missing path, unknown revision, git failure)."""


class ServiceError(RazeeError):
    """A remote service failed or could not be reached: trying again later may work."""

    exit_code = EXIT_SERVICE


class RefusedError(RazeeError):
    """A remote service answered and refused what razee sent it (the Kubernetes API server's 422): the input must
    change, not the service, so it is an input error (exit 2) wherever it surfaces, by its class alone."""

    exit_code = EXIT_USER_ERROR
