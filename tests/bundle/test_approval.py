"""Two-person release: ``bundle approve`` and ``bundle verify --require-approvals``, through the
real CLI, with a roster naming who holds each key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli, need_tool


class Site:
    """Keys of three people (Alice signs and has a second key, Bob approves, Carol's key is
    revoked), a trusted-keys folder with the roster, and a bundle Alice signed."""

    def __init__(self, tmp_path: Path, cli: Cli) -> None:
        self.tmp, self.cli = tmp_path, cli
        self.trusted = tmp_path / "trusted"
        people = {
            "alice": ("Alice", "operator"),
            "alice2": ("Alice", "approver"),
            "bob": ("Bob", "approver"),
            "carol": ("Carol", "approver"),
            "dave": ("Dave", "operator"),
        }
        self.keys: dict[str, SecretKey] = {}
        for handle, (name, role) in people.items():
            key = SecretKey.generate()
            (tmp_path / f"{handle}.key").write_text(key.text(None))
            (tmp_path / f"{handle}.key").chmod(0o600)
            (tmp_path / f"{handle}.pub").write_text(key.public.text())
            self.keys[handle] = key
            run = cli(
                "key",
                "trust",
                tmp_path / f"{handle}.pub",
                "--name",
                name,
                "--role",
                role,
                "--trusted-keys",
                self.trusted,
                "--yes",
            )
            assert run.code == 0, run.err
        run = cli(
            "key",
            "revoke",
            self.keys["carol"].public.id,
            "--reason",
            "left",
            "--trusted-keys",
            self.trusted,
        )
        assert run.code == 0, run.err
        self.bundle = self.make("usage.tar.gz")

    def make(self, name: str, count: int = 4) -> Path:
        out = self.tmp / "out" / name
        run = self.cli(
            "bundle",
            "create",
            "--out",
            out,
            *sorted(SAMPLES.glob("usage-*.xml"))[:count],
            "--key",
            self.tmp / "alice.key",
        )
        assert run.code == 0, run.err
        return out

    def approve(self, who: str, bundle: Path | None = None) -> tuple[int, str]:
        run = self.cli(
            "bundle",
            "approve",
            bundle or self.bundle,
            "--key",
            self.tmp / f"{who}.key",
            "--trusted-keys",
            self.trusted,
            "--note",
            "checked",
        )
        return run.code, run.out + run.err

    def verify(self, *flags: str) -> tuple[int, str]:
        run = self.cli("bundle", "verify", self.bundle, "--trusted-keys", self.trusted, *flags)
        return run.code, run.out + run.err


@pytest.fixture
def site(tmp_path: Path, cli: Cli) -> Site:
    return Site(tmp_path, cli)


def test_a_second_person_approves_and_stock_minisign_verifies_it(site: Site) -> None:
    code, said = site.approve("bob")
    assert code == 0, said
    approval = site.bundle.with_name(
        f"{site.bundle.name}.approved-{site.keys['bob'].public.id}.minisig"
    )
    assert approval.exists() and "ctx:airgap-approval/v1" in approval.read_text()
    assert site.verify("--require-approvals", "1")[0] == 0
    assert site.verify("--require-approvals", "1", "--approver-role", "approver")[0] == 0
    minisign = need_tool("minisign")
    done = subprocess.run(
        [
            minisign,
            "-V",
            "-m",
            str(site.bundle),
            "-x",
            str(approval),
            "-p",
            str(site.tmp / "bob.pub"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_too_few_approvals_under_policy(site: Site) -> None:
    code, said = site.verify("--require-approvals", "1")
    assert code == 4 and "1 approval(s) required" in said
    site.approve("bob")
    code, said = site.verify("--require-approvals", "2")
    assert code == 4 and "2 approval(s) required" in said


def test_the_signing_key_cannot_approve(site: Site) -> None:
    code, said = site.approve("alice")
    assert code == 4 and "signed this bundle" in said
    assert not list(site.bundle.parent.glob("*.approved-*"))


def test_a_second_key_of_the_signer_does_not_count(site: Site) -> None:
    assert site.approve("alice2")[0] == 0
    code, said = site.verify("--require-approvals", "1")
    assert code == 4 and "who signed the bundle with another key" in said


def test_a_revoked_key_does_not_count(site: Site) -> None:
    assert site.approve("carol")[0] == 0  # the approval is written; verify does not count it
    code, said = site.verify("--require-approvals", "1")
    assert code == 4 and "revoked key" in said


def test_an_approval_of_another_bundle_does_not_count(site: Site) -> None:
    other = site.make("other.tar.gz", count=2)
    assert site.approve("bob", other)[0] == 0
    moved = other.with_name(f"{other.name}.approved-{site.keys['bob'].public.id}.minisig")
    moved.rename(
        site.bundle.with_name(f"{site.bundle.name}.approved-{site.keys['bob'].public.id}.minisig")
    )
    code, said = site.verify("--require-approvals", "1")
    assert code == 4 and "approval of another bundle" in said


def test_the_wrong_role_does_not_count(site: Site) -> None:
    assert site.approve("dave")[0] == 0  # an operator, not an approver
    assert site.verify("--require-approvals", "1")[0] == 0
    code, said = site.verify("--require-approvals", "1", "--approver-role", "approver")
    assert code == 4 and "role operator, not approver" in said


def test_the_system_policy_requires_approvals_and_no_user_config_lowers_it(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "system.toml"
    system.write_text("[policy]\napprovals = 1\n")
    monkeypatch.setenv("AIRGAP_SYSTEM_CONFIG", str(system))
    user = tmp_path / "xdg" / "airgap" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[policy]\napprovals = 0\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("AIRGAP_TRUSTED_KEYS", str(site.trusted))
    code, said = site.verify()
    assert code == 4 and "1 approval(s) required" in said
    usb = tmp_path / "usb"
    usb.mkdir()
    refused = site.cli("media", "write", site.bundle, usb)
    assert refused.code == 4 and "approval(s) required" in refused.out + refused.err
    assert list(usb.iterdir()) == []
    assert site.approve("bob")[0] == 0
    assert site.verify()[0] == 0
    written = site.cli("media", "write", site.bundle, usb)
    assert written.code == 0, written.out + written.err
    assert sorted(p.name.split(".approved-")[-1] for p in usb.glob("*.approved-*")) == [
        f"{site.keys['bob'].public.id}.minisig"
    ]
