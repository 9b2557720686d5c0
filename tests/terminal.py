"""A command run as a person types it: stdin and stderr on a pseudo-terminal, stdout a pipe
(as in ``airgap ... > out.json``), answering each prompt the terminal shows."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path


def on_terminal(
    argv: list[str],
    answers: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, str, str]:
    """``argv`` with stdin and stderr on a pseudo-terminal and stdout a pipe, as in
    ``airgap ... > out.json`` typed by a person: each answer is typed once the terminal has
    shown a prompt ending in ':', '?' or ']'. Gives exit code, stdout, what the terminal showed."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=child,
        stderr=child,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    os.close(child)
    shown, since, pending = b"", b"", list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (
        process.poll() is None or select.select([main], [], [], 0)[0]
    ):
        if not select.select([main], [], [], 0.2)[0]:
            continue
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        shown, since = shown + chunk, since + chunk
        if pending and since.rstrip().endswith((b":", b"?", b"]")):
            os.write(main, pending.pop(0).encode() + b"\n")
            since = b""
    if process.poll() is None:
        process.kill()
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    code = process.wait(timeout=30)
    os.close(main)
    return code, stdout, shown.decode(errors="replace")
