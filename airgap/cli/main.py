"""The ``airgap`` app, its commands in workflow order, and the one error boundary."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from airgap import __version__
from airgap.cli import bundle as bundle_cmd
from airgap.cli import config as config_cmd
from airgap.cli import cslu as cslu_cmd
from airgap.cli import demo as demo_cmd
from airgap.cli import diff as diff_cmd
from airgap.cli import inspect as inspect_cmd
from airgap.cli import keys as keys_cmd
from airgap.cli import lab as lab_cmd
from airgap.cli import ledger as ledger_cmd
from airgap.cli import media as media_cmd
from airgap.cli import reconcile as reconcile_cmd
from airgap.cli import state as state_cmd
from airgap.cli import validate as validate_cmd
from airgap.cli.output import Format, current, emit_json, err
from airgap.errors import AirgapError, ExitCode

WORKFLOW = """Every reporting cycle, in order (each command's --help has more):

\b
  airgap key generate --out ~/keys/operator           once: your key pair
  airgap inspect usage/                               what the files hold
  airgap validate usage/                              are they fit to cross?
  airgap bundle create usage.tar.gz usage/ --key ~/keys/operator.key
  airgap media write usage.tar.gz /media/usb          copy, sync, read back
  airgap media scan /media/usb                        nothing else on the stick
  airgap bundle verify /media/usb/usage.tar.gz        on the other side
  airgap bundle extract /media/usb/usage.tar.gz ./in  verified, then unpacked
  airgap ledger record --step cssm.upload --material usage.tar.gz
  airgap diff before/ after/                          did the ACK import take effect?
  airgap reconcile usage/ acks/ after/                every report acknowledged?
  airgap deadlines after/                             when each device reports next
  airgap ledger verify                                the audit trail is intact

To practise the whole round trip with lab devices: airgap demo
"""

app = typer.Typer(
    name="airgap",
    help="Move Cisco Smart Licensing files across an air gap: inspect, validate, bundle, sign "
    "and carry usage reports and ACKs, with an audit ledger of every step.",
    epilog=WORKFLOW,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(keys_cmd.app, name="key")
app.command("inspect", epilog="Example: airgap inspect samples/usage-c9300-ios-xe-17.6-v1.xml")(
    inspect_cmd.inspect)
app.command("validate", epilog="Example: airgap validate samples/ --exclude 'invalid/*'")(
    validate_cmd.validate)
app.command("state", epilog="Example: airgap state samples/show/")(state_cmd.state)
app.add_typer(bundle_cmd.app, name="bundle")
app.add_typer(media_cmd.app, name="media")
app.add_typer(cslu_cmd.app, name="cslu")
app.add_typer(ledger_cmd.app, name="ledger")
app.command("sign", epilog="Example: airgap sign usage.tar.gz --key ~/keys/operator.key")(
    keys_cmd.sign)
app.command("verify", epilog="Example: airgap verify usage.tar.gz --trusted-key alice.pub")(
    keys_cmd.verify)
app.command("diff", epilog="Example: airgap diff samples/show/before/ samples/show/after/")(
    diff_cmd.diff)
app.command("reconcile", epilog="Example: airgap reconcile usage/ acks/ captures/")(
    reconcile_cmd.reconcile)
app.command("deadlines", epilog="Example: airgap deadlines captures/ --warn-days 30")(
    reconcile_cmd.deadlines)
app.add_typer(lab_cmd.app, name="lab")
app.command("demo", epilog="Example: airgap demo --devices 5")(demo_cmd.demo)
app.command("rules", epilog="Example: airgap rules --format json")(validate_cmd.rules)
app.add_typer(config_cmd.app, name="config")

_debug = {"on": bool(os.environ.get("AIRGAP_DEBUG"))}


def _version(value: bool) -> None:
    if value:
        print(f"airgap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                         help="Show the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")]
    = False,
) -> None:
    if debug:
        _debug["on"] = True


def _fail(code: int, message: str, hint: str = "") -> None:
    err().print(f"error: {message}", markup=False, style="bold red")
    if hint:
        err().print(f"hint: {hint}", markup=False)
    if current.format is Format.JSON:
        emit_json(False, [], error={"message": message, "hint": hint, "exit_code": code})
    sys.exit(code)


def main() -> None:
    """Run the CLI; every error ends here as one line and an exit code from DESIGN.md."""
    try:
        app()
    except AirgapError as exc:
        _fail(exc.exit_code, exc.message, exc.hint)
    except KeyboardInterrupt:
        _fail(ExitCode.INTERRUPTED, "interrupted")
    except Exception as exc:
        if _debug["on"]:
            raise
        _fail(ExitCode.INTERNAL,
              f"internal error ({type(exc).__name__}); this is a bug in airgap",
              "rerun with --debug and report the traceback")
