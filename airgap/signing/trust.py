"""Which keys are trusted, who holds them, and which were revoked.

A trusted-keys folder holds one ``<KEYID>.pub`` per key and ``roster.json``: for each key the
person and role it belongs to, when it was trusted, and when and why it was revoked. Keys can
also be trusted one by one (``--trusted-key FILE``), with no roster. A revoked key is refused
everywhere, whatever the signature's own timestamp says (the signer writes that).
Each host also has a host key (unencrypted, readable by its owner only, like an SSH host key).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airgap.errors import ConfigError, InputError, TrustError, why
from airgap.fsutil import read_small, write_atomic
from airgap.signing.minisign import PublicKey, SecretKey, Signature, SignatureError

ROSTER = "roster.json"


def now_utc() -> str:
    """The current time, ISO 8601 UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RosterEntry:
    """A trusted key's holder and state."""

    key_id: str
    name: str
    role: str
    trusted: str
    revoked: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored in the roster and shown by ``key list``."""
        return asdict(self)


@dataclass(frozen=True)
class Trusted:
    """The keys trusted for one operation, with their roster entries when known."""

    keys: Mapping[str, PublicKey]
    roster: Mapping[str, RosterEntry]

    def signer(
        self, signature: Signature, path: str | Path
    ) -> tuple[PublicKey, RosterEntry | None]:
        """The trusted, unrevoked key that made ``signature``, or a :class:`SignatureError`."""
        key_id = signature.key_hex
        entry = self.roster.get(key_id)
        if entry is not None and entry.revoked:
            raise SignatureError(
                "revoked key",
                path,
                f"signed by key {key_id} ({entry.name}, {entry.role}), revoked "
                f"{entry.revoked}" + (f": {entry.reason}" if entry.reason else ""),
            )
        key = self.keys.get(key_id)
        if key is None:
            raise SignatureError(
                "untrusted key",
                path,
                f"signed by key {key_id}, which is not among the trusted keys",
                "check the key with its holder, then 'airgap key trust'",
            )
        return key, entry


class TrustStore:
    """A trusted-keys folder: ``<KEYID>.pub`` files and the roster."""

    def __init__(self, folder: Path) -> None:
        if folder.exists() and not folder.is_dir():
            raise InputError(
                "not a trusted-keys folder",
                folder,
                "it is a file",
                f"for one public key file, give --trusted-key {folder}",
            )
        self.folder = folder

    def entries(self) -> list[RosterEntry]:
        """Every roster entry, in the order keys were trusted. A roster in which a later
        entry would undo a revocation is refused (exit 4): revocations are for good."""
        path = self.folder / ROSTER
        try:
            data = json.loads(read_small(path))
            entries = [RosterEntry(**item) for item in data["keys"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ConfigError("invalid roster", path, why(exc)) from None
        revoked: dict[str, RosterEntry] = {}
        for entry in entries:
            if not all(
                isinstance(v, str) for v in (entry.key_id, entry.name, entry.role, entry.trusted)
            ):
                raise ConfigError(
                    "invalid roster",
                    path,
                    f"entry {entry.key_id!r}: key id, name, role and time are text",
                )
            earlier = revoked.get(entry.key_id)
            if earlier is not None and not entry.revoked:
                raise TrustError(
                    "roster undoes a revocation",
                    path,
                    f"key {entry.key_id} ({earlier.name}) was revoked "
                    f"{earlier.revoked}, and a later entry trusts it again",
                    "a revoked key stays revoked: restore the roster from a copy "
                    "you trust, and have the holder make a new key",
                )
            if entry.revoked:
                revoked[entry.key_id] = entry
        return entries

    def _save(self, entries: Iterable[RosterEntry]) -> None:
        data = {"version": 1, "keys": [e.to_dict() for e in entries]}
        write_atomic(
            self.folder / ROSTER, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
        )

    def trust(self, key: PublicKey, name: str, role: str) -> RosterEntry:
        """Add a key with its holder's name and role (a trusted key's are replaced); a
        revoked key is refused: it stays revoked."""
        entries = self.entries()
        for earlier in entries:
            if earlier.key_id == key.id and earlier.revoked:
                raise TrustError(
                    "revoked key",
                    self.folder / ROSTER,
                    f"key {key.id} ({earlier.name}) was revoked {earlier.revoked}",
                    "a revoked key stays revoked: have its holder make a new key",
                )
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / f"{key.id}.pub", key.text().encode())
        entry = RosterEntry(key.id, name, role, now_utc())
        self._save([*(e for e in entries if e.key_id != key.id), entry])
        return entry

    def revoke(self, key_id: str, reason: str) -> RosterEntry:
        """Mark a trusted key revoked; its signatures are refused from now on."""
        entries = self.entries()
        for number, entry in enumerate(entries):
            if entry.key_id == key_id.upper():
                entries[number] = replace(entry, revoked=now_utc(), reason=reason or None)
                self._save(entries)
                return entries[number]
        raise InputError(
            "no such trusted key",
            self.folder / ROSTER,
            f"no key {key_id}",
            "run 'airgap key list' for the trusted keys",
        )

    def load(self) -> Trusted:
        """The keys in the folder with their roster entries."""
        keys = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.pub")):
                key = PublicKey.load(path)
                keys[key.id] = key
        return Trusted(keys, {e.key_id: e for e in self.entries()})


def trusted(files: Iterable[Path], folder: Path | None) -> Trusted:
    """The keys given one by one plus those of a trusted-keys folder (and its roster)."""
    if folder is not None and not folder.exists():
        raise ConfigError("no such trusted-keys folder", folder, "nothing is there")
    store = TrustStore(folder).load() if folder else Trusted({}, {})
    keys = dict(store.keys)
    for path in files:
        if path.is_dir():
            raise InputError(
                "not a public key file",
                path,
                "it is a folder",
                f"for a trusted-keys folder, give --trusted-keys {path}",
            )
        key = PublicKey.load(path)
        keys[key.id] = key
    if not keys:
        raise ConfigError(
            "no trusted keys",
            None,
            "give --trusted-key FILE or --trusted-keys "
            "DIR, or set trusted_keys in your user config",
        )
    return Trusted(keys, store.roster)


def data_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/airgap``, by default ``~/.local/share/airgap``."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(
        Path(env.get("HOME", "~")).expanduser() / ".local" / "share"
    )
    return Path(base) / "airgap"


def host_key(env: Mapping[str, str] | None = None) -> SecretKey:
    """This host's key, created (unencrypted, owner-only) the first time it is needed."""
    path = data_home(env) / "host.key"
    if not path.exists():
        key = SecretKey.generate()
        try:
            write_atomic(path, key.text(None).encode(), 0o600, replace=False)
            write_atomic(path.with_suffix(".pub"), key.public.text().encode())
        except FileExistsError:
            pass  # another airgap process made it first: use theirs
    return SecretKey.load(path, None, insecure_permissions=None)
