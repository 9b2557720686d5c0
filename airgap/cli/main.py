"""The ``airgap`` app, its commands in workflow order, and the one error boundary."""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from airgap import __version__
from airgap.cli.output import Format, current, emit_json, err
from airgap.errors import AirgapError, ExitCode, why

WORKFLOW = """Every reporting cycle, in order (each command's --help has more):

\b
  airgap key generate --out ~/keys/operator           once: your key pair
  airgap key trust their.pub --name N --role R        once: the other side's key
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

# Every command as ``airgap --help`` lists it: (module in airgap.cli, its command function or
# group app, epilog). A command's module is imported, and the command built, only when it is
# used: `airgap validate` starts without loading the other sixteen (about 40 ms less).
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "inspect": (
        "inspect",
        "inspect",
        "Example: airgap inspect samples/usage-c9300-ios-xe-17.6-v1.xml",
    ),
    "validate": ("validate", "validate", "Example: airgap validate samples/ --exclude 'invalid/*'"),
    "state": ("state", "state", "Example: airgap state samples/show/"),
    "sign": ("keys", "sign", "Example: airgap sign usage.tar.gz --key ~/keys/operator.key"),
    "verify": ("keys", "verify", "Example: airgap verify usage.tar.gz --trusted-key alice.pub"),
    "diff": ("diff", "diff", "Example: airgap diff samples/import/before/ samples/import/after/"),
    "reconcile": ("reconcile", "reconcile", "Example: airgap reconcile usage/ acks/ captures/"),
    "deadlines": ("reconcile", "deadlines", "Example: airgap deadlines captures/ --warn-days 30"),
    "health": ("health", "health", "Example: airgap health samples/show/ --format nagios"),
    "collect": (
        "devices",
        "collect",
        "Example: airgap collect --inventory site.toml --known-hosts site_known_hosts --out usage/",
    ),
    "push": (
        "devices",
        "push",
        "Example: airgap push acks/ACK_*.xml --inventory site.toml --known-hosts site_known_hosts",
    ),
    "inventory": ("devices", "inventory_app", None),
    "audit": ("audit", "app", None),
    "demo": ("demo", "demo", "Example: airgap demo --devices 5"),
    "rules": ("validate", "rules", "Example: airgap rules --format json"),
    "key": ("keys", "app", None),
    "bundle": ("bundle", "app", None),
    "media": ("media", "app", None),
    "cslu": ("cslu", "app", None),
    "ledger": ("ledger", "app", None),
    "lab": ("lab", "app", None),
    "config": ("config", "app", None),
}


def _typer(**settings: Any) -> typer.Typer:
    return typer.Typer(
        name="airgap",
        help="Move Cisco Smart Licensing files across an air gap: inspect, validate, bundle, "
        "sign and carry usage reports and ACKs, with an audit ledger of every step.",
        epilog=WORKFLOW,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
        **settings,
    )


def _build(name: str) -> Any:
    """One command, built by typer exactly as it would be inside the whole app."""
    module, attribute, epilog = COMMANDS[name]
    target = getattr(importlib.import_module(f"airgap.cli.{module}"), attribute)
    alone = _typer(add_completion=False)
    alone.callback()(_root)
    if isinstance(target, typer.Typer):
        alone.add_typer(target, name=name)
    else:
        alone.command(name, epilog=epilog)(target)
    group = typer.main.get_command(alone)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


class _Built(MutableMapping[str, Any]):
    """The app's commands by name, each built on first use."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*COMMANDS, *(n for n in self._built if n not in COMMANDS)])

    def __len__(self) -> int:
        return len(COMMANDS) + sum(n not in COMMANDS for n in self._built)


class _App(TyperGroup):
    """The root group, whose commands are built when used."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.commands = _Built()


app = _typer(cls=_App)

_debug = {"on": bool(os.environ.get("AIRGAP_DEBUG"))}


def _version(value: bool) -> None:
    if value:
        print(f"airgap {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of internal errors.")
    ] = False,
) -> None:
    if debug:
        _debug["on"] = True


app.callback()(_root)


# Errors that say the output could not be written (a full disk or USB stick), not a bug.
_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _fail(code: int, message: str, hint: str = "") -> None:
    err().print(f"error: {message}", markup=False, style="bold red")
    if hint:
        err().print(f"hint: {hint}", markup=False)
    if current.format is Format.JSON:
        emit_json(False, [], error={"message": message, "hint": hint, "exit_code": code})
    sys.exit(code)


def _cannot_write(exc: OSError) -> None:
    # What could not be written stays in stdout's buffer; send it (and any JSON error envelope)
    # nowhere, or Python's own flush at exit would fail again with a traceback.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    _fail(
        ExitCode.CANNOT_RUN,
        f"cannot write the output: {exc.strerror}",
        "free some space, or write the output elsewhere",
    )


# What the user can do about the operating system's answer on a path (exit 3, never a bug).
_OS_HINTS = {
    errno.EROFS: "the file system is read-only (a write-protected or read-only medium?): "
    "write elsewhere",
    errno.EACCES: "check the permissions of the path and of its folders",
    errno.EPERM: "check the permissions of the path and of its folders",
    errno.EISDIR: "name a file there, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "use a shorter name",
    errno.ENOENT: "check the path; a link whose target is missing counts as missing",
    errno.ELOOP: "the path goes through a loop of links",
    errno.EEXIST: "choose a name that does not exist yet",
    errno.EBUSY: "name a path below it: a mount point or the root cannot be replaced",
    errno.EINVAL: "name a path below it: a folder cannot be moved into itself",
    errno.EXDEV: "keep the path on the same file system as its folder",
}


def _os_error(exc: OSError) -> None:
    """An operating-system error on a path (one the user named, or a file beside it that
    airgap writes first): could not run, one line, never a bug."""
    path = exc.filename if exc.filename is not None else exc.filename2
    error = AirgapError(
        "cannot use",
        os.fsdecode(path) if isinstance(path, str | bytes) else None,
        exc.strerror or why(exc),
        _OS_HINTS.get(exc.errno or 0, ""),
    )
    _fail(ExitCode.CANNOT_RUN, error.message, error.hint)


def _degrade_output() -> None:
    """With an encoding that cannot show every character (``PYTHONIOENCODING=ascii``, a C
    locale), write those characters as backslash escapes rather than fail."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            reconfigure(errors="backslashreplace")


def main() -> None:
    """Run the CLI; every error ends here as one line and an exit code from DESIGN.md."""
    _degrade_output()
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # a full disk shows here, inside the boundary, not at exit
    except AirgapError as exc:
        _fail(exc.exit_code, exc.message, exc.hint)
    except KeyboardInterrupt:
        _fail(ExitCode.INTERRUPTED, "interrupted")
    except OSError as exc:
        if exc.errno in _CANNOT_WRITE:
            _cannot_write(exc)
        if exc.errno is None:
            _internal(exc)
        _os_error(exc)
    except Exception as exc:
        _internal(exc)


def _internal(exc: Exception) -> None:
    if _debug["on"]:
        raise exc
    _fail(
        ExitCode.INTERNAL,
        f"internal error ({type(exc).__name__}); this is a bug in airgap",
        "rerun with --debug and report the traceback",
    )
