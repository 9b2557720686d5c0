"""Loading the keys a workflow signs and verifies with: an operator's secret key, the trusted
keys (one by one or a trusted-keys folder with its roster), this host's key when it exists, and
the signing time. The passphrase comes from the caller (a prompt is the terminal's business),
so the same loaders serve every command and every workflow."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from airgap.errors import ConfigError

if TYPE_CHECKING:
    from airgap.signing.minisign import PublicKey, SecretKey
    from airgap.signing.trust import Trusted

Passphrase = Callable[[str], bytes]
"""Asked for an encrypted key's passphrase, with the prompt to show."""


def load_secret(
    path: Path, passphrase: Passphrase, *, insecure_permissions: bool = False
) -> SecretKey:
    """A secret key file, asking ``passphrase`` only when it is encrypted; one that others
    may read is refused unless ``insecure_permissions``."""
    from airgap.signing.minisign import SecretKey, read_key_file

    text = read_key_file(path, secret=True, insecure_permissions=insecure_permissions)
    secret = passphrase(f"Passphrase for {path}") if SecretKey.encrypted(text, path) else None
    return SecretKey.parse(text, secret, path)


def trust_folder(folder: Path | None, *, required: bool = False) -> Path | None:
    """The trusted-keys folder: the flag, else the ``trusted_keys`` setting."""
    from airgap import config

    if folder is None and (setting := config.load()["trusted_keys"]):
        folder = Path(setting)
    if folder is None and required:
        raise ConfigError(
            "no trusted-keys folder",
            None,
            "give --trusted-keys DIR or set trusted_keys in your user config",
        )
    return folder


def trusted_keys(files: list[Path] | None, folder: Path | None) -> Trusted:
    """The keys given one by one, else the trusted-keys folder (flag or settings)."""
    from airgap.signing.trust import trusted

    return trusted(files or [], folder if files else trust_folder(folder))


def host_public() -> PublicKey | None:
    """This host's public key when the host key exists, else None: reading and verifying
    never create the host key (recording a step does, through ``host_key``)."""
    from airgap.signing.trust import data_home, host_key

    return host_key().public if (data_home() / "host.key").exists() else None


def signing_time() -> int:
    """SOURCE_DATE_EPOCH when set (reproducible output), else now."""
    from airgap import config

    epoch = config.source_date_epoch(os.environ)
    return int(time.time()) if epoch is None else epoch
