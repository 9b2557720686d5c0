"""``airgap config show``: the settings in force and where each came from."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from airgap.cli.options import PrivacyOption
from airgap.cli.output import Format, FormatOption, begin, emit_json, out

app = typer.Typer(
    help="Settings: flags > AIRGAP_* environment > user config > system config.",
    no_args_is_help=True,
)


@app.command("show", epilog="Example: airgap config show --format json")
def show(
    fmt: FormatOption = Format.TEXT,
    ledger: Annotated[
        str | None, typer.Option(help="Audit ledger file.", show_default=False)
    ] = None,
    trusted_keys: Annotated[
        str | None, typer.Option(help="Folder of trusted public keys.", show_default=False)
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="The operator's secret key.", show_default=False)
    ] = None,
    privacy: PrivacyOption = None,
) -> None:
    """Show every setting in force, its value and its source (flag, environment variable,
    working-folder airgap.toml, user config, system config or default)."""
    from airgap import config

    begin("config show", fmt)
    settings = config.load(
        {"ledger": ledger, "trusted_keys": trusted_keys, "key": key, "privacy": privacy}
    )
    if fmt is Format.JSON:
        emit_json(True, [s.to_dict() for s in settings.values.values()])
        return
    width = max(len(name) for name in settings.values)
    for s in settings.values.values():
        value = "-" if s.value in (None, [], {}) else json.dumps(s.value)
        out().print(f"{s.name:<{width}}  {value}  ({s.source})", markup=False)
