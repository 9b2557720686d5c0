"""The ``airgap`` app, its commands in workflow order, and the one error boundary."""

from __future__ import annotations

import errno
import importlib
import os
import select
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from typer.core import TyperGroup

from airgap import __version__
from airgap.cli.output import Format, Run, emit_json, err, error_object, running, this_run
from airgap.errors import AirgapError, ExitCode, why

WORKFLOW = """Every reporting cycle, in order (each command's --help has more):

\b
  airgap key generate --out ~/keys/operator           once: your key pair
  airgap key trust their.pub --name N --role R        once: the other side's key
  airgap inspect usage/                               what the files hold
  airgap validate usage/                              are they fit to cross?
  airgap bundle create usage/ --out usage.tar.gz --key ~/keys/operator.key
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
        this_run().debug = True


app.callback()(_root)


# Errors that say the output could not be written (a full disk or USB stick), not a bug.
_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _fail(run: Run, error: AirgapError) -> NoReturn:
    """One error line (and its hint) on stderr; under ``--format json`` the envelope with the
    error object on stdout; the error's exit code."""
    err().print(f"error: {error.message}", markup=False, style="bold red")
    if error.hint:
        err().print(f"hint: {error.hint}", markup=False)
    if run.format is Format.JSON:
        found = error_object(error.exit_code, error.message, error.path, error.why, error.hint)
        emit_json(False, [], error=found, command=run.command)
    sys.exit(error.exit_code)


class _Stopped(AirgapError):
    """A failure the boundary itself names (no command raised it)."""

    def __init__(self, code: ExitCode, what: str, path: str | None = None, **parts: str) -> None:
        self.exit_code = code
        super().__init__(what, path, **parts)


def _nowhere() -> None:
    """Send what is left in stdout's buffer nowhere, or Python's own flush at exit would
    fail again with a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _cannot_write(run: Run, exc: OSError) -> NoReturn:
    _nowhere()  # and the JSON envelope too: stdout is what cannot be written
    run.format = Format.TEXT
    _fail(
        run,
        _Stopped(
            ExitCode.CANNOT_RUN,
            f"cannot write the output: {exc.strerror or why(exc)}",
            hint="free some space, or write the output elsewhere",
        ),
    )


def _stdout_closed() -> bool:
    """Whether the reader of stdout has gone (``airgap rules | head``): the pipe reports an
    error to a writer. A broken connection to a device is no such thing."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poll.poll(0))
    except (OSError, ValueError):
        return False


def _broken_pipe() -> NoReturn:
    """The reader of stdout stopped reading: exit 0 with no message, as ``head`` users expect."""
    _nowhere()
    sys.exit(ExitCode.OK)


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


def _os_error(run: Run, exc: OSError) -> NoReturn:
    """An operating-system error on a path (one the user named, or a file beside it that
    airgap writes first): could not run, one line, never a bug."""
    path = exc.filename if exc.filename is not None else exc.filename2
    error = AirgapError(
        "cannot use",
        os.fsdecode(path) if isinstance(path, str | bytes) else None,
        exc.strerror or why(exc),
        _OS_HINTS.get(exc.errno or 0, ""),
    )
    _fail(run, error)


def _json_asked(args: list[str]) -> bool:
    """Whether the command line asks for ``--format json`` (read before the command parsed
    its flags, for a usage error)."""
    return any(
        a == "--format=json" or (a == "--format" and b == "json")
        for a, b in zip(args, [*args[1:], ""], strict=True)
    )


def _usage(run: Run, exc: typer.TyperException, args: list[str]) -> NoReturn:
    """A usage error (exit 2): the usage and message on stderr as typer shows them, and
    under ``--format json`` the envelope with the error object on stdout."""
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    else:
        err().print(f"error: {exc.format_message()}", markup=False)
    if _json_asked(args):
        ctx = getattr(exc, "ctx", None)
        path = getattr(ctx, "command_path", "") if ctx is not None else ""
        found = error_object(ExitCode.USAGE, exc.format_message(), hint="see the command's --help")
        emit_json(False, [], error=found, command=run.command or path.partition(" ")[2])
    sys.exit(ExitCode.USAGE)


def _degrade_output() -> None:
    """With an encoding that cannot show every character (``PYTHONIOENCODING=ascii``, a C
    locale), write those characters as backslash escapes rather than fail."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            reconfigure(errors="backslashreplace")


def _invoke(run: Run, args: list[str]) -> int:
    """The app on ``args``, with its exceptions left to the boundary (click's own handling
    would print ``Aborted!`` for Ctrl-C and exit 1 on a broken pipe)."""
    command = typer.main.get_command(app)
    command._main_shell_completion({}, "airgap", None)  # exits when the shell completes
    try:
        with running(run), command.make_context("airgap", list(args)) as ctx:
            command.invoke(ctx)
    except typer.Exit as exc:
        return int(exc.exit_code)
    return ExitCode.OK


def main() -> None:
    """Run the CLI; every error ends here as one line and an exit code from DESIGN.md."""
    _degrade_output()
    run = Run(debug=bool(os.environ.get("AIRGAP_DEBUG")))
    args = sys.argv[1:]
    try:
        try:
            code = _invoke(run, args)
        finally:
            sys.stdout.flush()  # a full disk shows here, inside the boundary, not at exit
    except AirgapError as exc:
        _fail(run, exc)
    except typer.TyperException as exc:  # a usage error, or a file typer opened itself
        if exc.exit_code == ExitCode.USAGE:
            _usage(run, exc, args)
        _fail(run, _Stopped(ExitCode.CANNOT_RUN, exc.format_message()))
    except (KeyboardInterrupt, typer.Abort) as exc:
        if isinstance(exc, typer.Abort) and isinstance(exc.__context__, EOFError):
            _fail(
                run,
                _Stopped(
                    ExitCode.USAGE,
                    "no answer to a prompt: stdin is closed",
                    hint="give the answer as a flag; see the command's --help",
                ),
            )
        _fail(run, _Stopped(ExitCode.INTERRUPTED, "interrupted"))
    except OSError as exc:
        if exc.errno == errno.EPIPE and _stdout_closed():
            _broken_pipe()
        if exc.errno in _CANNOT_WRITE:
            _cannot_write(run, exc)
        if exc.errno is None:
            _internal(run, exc)
        _os_error(run, exc)
    except Exception as exc:
        _internal(run, exc)
    sys.exit(code)


def _internal(run: Run, exc: Exception) -> NoReturn:
    if run.debug:
        raise exc
    _fail(
        run,
        _Stopped(
            ExitCode.INTERNAL,
            f"internal error ({type(exc).__name__}); this is a bug in airgap",
            hint="rerun with --debug and report the traceback",
        ),
    )
