"""Following a branch of a remote fleet repo: a cached bare clone, shallow fetches, force-pushes followed.

The cache holds only what was fetched. A fetch asks for the branch tip with `--depth 1 --force`, so a rewritten
history simply becomes the new tip. Credentials come from the environment (RAZEE_GIT_TOKEN as an HTTP bearer
header, or git's own SSH and credential settings) and never appear in logs or errors: URLs are shown without
their userinfo.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import git

from razee.errors import ServiceError, SourceError

TOKEN_ENV = "RAZEE_GIT_TOKEN"
_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def redact(url: str) -> str:
    return _USERINFO.sub("***@", url)


class GitSource:
    def __init__(self, url: str, branch: str, cache: Path) -> None:
        self.url = url
        self.branch = branch
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)
        try:
            self.repo = git.Repo(cache)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            self.repo = git.Repo.init(cache, bare=True)

    def fetch(self) -> str:
        """Fetch the branch tip; returns its commit id. Raises ServiceError when the server cannot be reached."""
        ref = f"refs/razee/{self.branch}"
        options: list[str] = []
        token = os.environ.get(TOKEN_ENV)
        if token:
            options += ["-c", f"http.extraHeader=Authorization: Bearer {token}"]
        try:
            self.repo.git.execute(
                [
                    "git",
                    *options,
                    "fetch",
                    "--quiet",
                    "--depth",
                    "1",
                    "--force",
                    "--no-tags",
                    self.url,
                    f"+refs/heads/{self.branch}:{ref}",
                ],
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            )
        except git.GitCommandError as e:
            detail = redact(str(e.stderr or "").strip())[:300]
            if token:
                detail = detail.replace(token, "***")
            raise ServiceError(f"cannot fetch {self.branch} from {redact(self.url)}: {detail}") from None
        try:
            return str(self.repo.commit(ref).hexsha)
        except (git.BadName, ValueError) as e:
            raise SourceError(f"{redact(self.url)} has no branch {self.branch}") from e

    def commit_info(self, commit: str) -> dict[str, str]:
        c = self.repo.commit(commit)
        message = str(c.message).strip()
        return {
            "revision": c.hexsha,
            "author": str(c.author),
            "message": message.splitlines()[0][:200] if message else "",
            "committedAt": c.committed_datetime.isoformat(),
        }

    def is_urgent(self, commit: str) -> bool:
        """A commit marks its revision urgent with a `Razee-Urgent: true` trailer: bake times are skipped."""
        message = str(self.repo.commit(commit).message)
        return any(line.strip().lower() == "razee-urgent: true" for line in message.splitlines())

    def close(self) -> None:
        self.repo.close()
