"""Encrypted secrets in the fleet repo: `environments/secrets/<name>.age`, age-encrypted YAML mappings.

Templates read them as `secrets.<name>.<key>`. They are decrypted lazily, in memory only, with the age identity
file the command is given (--age-identity or RAZEE_AGE_IDENTITY, read by the CLI; a file, as `age -i` takes).
Without an identity, commands that never touch a cluster (render, validate, the revision preview) get a
placeholder per value instead: derived from the ciphertext, so a re-encrypted secret still shows up as a change,
and never the plaintext. Commands that apply refuse to run without the identity. Plaintext handed to templates is
remembered, so the renderer can refuse a template that copies a secret into anything but a Secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyrage
import yaml

from razee.errors import Finding, InputError, Location, UsageError

SECRETS_DIR = "environments/secrets"
IDENTITY_ENV = "RAZEE_AGE_IDENTITY"
MIN_LEAK_LENGTH = 6


def load_identities(path: str | None) -> list[Any] | None:
    """The age identities in the file `path`; None without a file."""
    if not path:
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UsageError(f"{IDENTITY_ENV}: cannot read age identity file {path}: {e.strerror}") from e
    keys = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
    if not keys:
        raise UsageError(f"{IDENTITY_ENV}: {path} holds no age identity (AGE-SECRET-KEY-...)")
    try:
        return [pyrage.x25519.Identity.from_str(k) for k in keys]
    except pyrage.IdentityError as e:
        raise UsageError(f"{IDENTITY_ENV}: invalid age identity in {path}") from e


class SecretStore(Mapping[str, Any]):
    """`secrets` in the template context: one entry per encrypted file, decrypted on first use."""

    def __init__(self, repo: Path, identities: list[Any] | None, require_identity: bool) -> None:
        self.dir = repo / SECRETS_DIR
        self.files = {p.name[:-4]: p for p in sorted(self.dir.glob("*.age"))} if self.dir.is_dir() else {}
        self.identities = identities
        self.require_identity = require_identity
        self._cache: dict[str, Any] = {}
        self.plaintexts: dict[str, str] = {}  # value -> "name.key" it came from

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            path = self.files.get(name)
            if path is None:
                raise KeyError(name)
            self._cache[name] = self._open(name, path)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def opened(self) -> list[str]:
        """The entries read so far; a forked renderer reports them so the parent's store matches."""
        return sorted(self._cache)

    def open_all(self, names: Iterable[str]) -> None:
        for name in names:
            _ = self[name]

    @property
    def decrypted(self) -> bool:
        """Whether any real secret value was read (such a render must never be written to disk)."""
        return any(not isinstance(v, _placeholders) for v in self._cache.values())

    def digest(self) -> str:
        """A hash of the encrypted files, for fingerprints (changes when a secret is re-encrypted)."""
        h = hashlib.sha256()
        for name, path in self.files.items():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        return h.hexdigest()

    def _open(self, name: str, path: Path) -> Any:
        rel = f"{SECRETS_DIR}/{path.name}"
        data = path.read_bytes()
        if self.identities is None:
            if self.require_identity:
                message = f"encrypted secret needs an age identity; set {IDENTITY_ENV}"
                raise InputError([Finding(Location(rel), message)])
            return _placeholders(hashlib.sha256(data).hexdigest()[:16], name)
        try:
            plain = pyrage.decrypt(data, self.identities)
        except pyrage.DecryptError as e:
            raise InputError([Finding(Location(rel), "cannot decrypt with the given age identity")]) from e
        try:
            doc = yaml.safe_load(plain.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            # never echo the parser's context: it would quote the plaintext
            raise InputError([Finding(Location(rel), "decrypted content is not valid YAML")]) from e
        if not isinstance(doc, dict):
            raise InputError([Finding(Location(rel), "decrypted content must be a mapping of names to values")])
        self._remember(doc, name)
        return doc

    def _remember(self, node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                self._remember(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._remember(v, f"{path}[{i}]")
        elif node is not None and len(str(node)) >= MIN_LEAK_LENGTH:
            self.plaintexts[str(node)] = path


class _placeholders(dict[str, Any]):
    """Stands in for a secret nobody may decrypt here: every key yields a stable, non-secret placeholder."""

    def __init__(self, digest: str, name: str) -> None:
        super().__init__()
        self.digest, self.name = digest, name

    def __missing__(self, key: str) -> str:
        return f"razee-encrypted:{self.name}.{key}:{self.digest}"

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        return str(self[key])


EXPANSION_API_VERSION = "razee.io/v1"
"""Sources' apiVersion (razee.sources.expander.API_VERSION): a chart's values may carry a secret to a Secret."""


def find_leaks(manifests: Any, store: SecretStore) -> list[Finding]:
    """Secret plaintext that a template copied into an object other than a Secret (never quoting the value)."""
    if not store.plaintexts:
        return []
    findings: list[Finding] = []
    for m in manifests:
        if m.kind == "Secret" and m.api_version == "v1":
            continue
        if m.api_version == EXPANSION_API_VERSION:  # a source, never sent: what it expands to is checked instead
            continue
        for value, origin in store.plaintexts.items():
            if _contains(m.obj, value):
                findings.append(
                    Finding(
                        m.source.location(),
                        f"{m.key} contains the value of secrets.{origin}; secret values may only go into a Secret",
                    )
                )
    return findings


def _contains(node: Any, value: str) -> bool:
    if isinstance(node, dict):
        return any(_contains(v, value) or (isinstance(k, str) and value in k) for k, v in node.items())
    if isinstance(node, list):
        return any(_contains(v, value) for v in node)
    return isinstance(node, str) and value in node


def encrypt_secret_file(plaintext: bytes, recipients: list[str]) -> bytes:
    """Armored age ciphertext of a YAML mapping, for `environments/secrets/<name>.age`."""
    try:
        doc = yaml.safe_load(plaintext.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UsageError("the secret file is not valid YAML") from e
    if not isinstance(doc, dict):
        raise UsageError("the secret file must be a YAML mapping of names to values")
    try:
        keys = [pyrage.x25519.Recipient.from_str(r) for r in recipients]
    except pyrage.RecipientError as e:
        raise UsageError(f"invalid age recipient among {', '.join(recipients)}") from e
    return bytes(pyrage.encrypt(plaintext, keys, armored=True))
