"""The wheel ships every subpackage and the schemas (the package list is kept by hand)."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def test_every_subpackage_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "airgap").rglob("__init__.py")
    }
    assert set(config["packages"]) == found | {"airgap.schemas"}
    assert config["package-dir"] == {"airgap.schemas": "schemas"}


def test_schemas_are_declared_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["airgap.schemas"]
    shipped = {p.name for p in (ROOT / "schemas").iterdir()}
    assert shipped == {p.name for pattern in patterns for p in (ROOT / "schemas").glob(pattern)}
