"""Which ``show license ...`` command a text capture holds, from its content.

The command line itself decides when the capture kept it (``host#show license status``, or
an abbreviation such as ``sh lic stat``); otherwise the headings each command prints do.
Parsing a capture into a device state is ``airgap.state``'s job; this module only names it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

# (words of the command after "show license", kind suffix); the first prefix match wins.
COMMANDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("status",), "status"),
    (("summary",), "summary"),
    (("usage",), "usage"),
    (("all",), "all"),
    (("tech", "support"), "tech-support"),
    (("tech-support",), "tech-support"),
    (("rum", "id", "all"), "rum-id-all"),
    (("rum", "id", "#", "detail"), "rum-id-detail"),
    (("udi",), "udi"),
    (("history", "message"), "history-message"),
    (("eventlog",), "eventlog"),
    (("authorization",), "authorization"),
)
# Captures of other commands that show licensing state: (command pattern, kind).
OTHER_COMMANDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^(?:[\w.\-()/:]*[#>]\s*)?sh(?:o|ow)?\s+log(?:g|gi|gin|ging)?\b", re.I),
        "show-logging",
    ),
    (
        re.compile(r"^(?:[\w.\-()/:]*[#>]\s*)?sh(?:o|ow)?\s+common-packet-forwarder\s+st", re.I),
        "show-common-packet-forwarder-status",
    ),
)
KINDS = (
    *dict.fromkeys(f"show-license-{suffix}" for _, suffix in COMMANDS),
    *(kind for _, kind in OTHER_COMMANDS),
)

_COMMAND_LINE = re.compile(
    r"^(?:[\w.\-()/:]*[#>]\s*)?sh(?:o|ow)?\s+lic(?:e|en|ens|ense)?\s+(?P<rest>\S.*)$",
    re.IGNORECASE,
)

# Headings each command prints, most specific first.
_HEADINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Smart Licensing Tech Support info", re.M), "tech-support"),
    # sections only tech support prints: a capture that lost its title line is still one
    (
        re.compile(
            r"^(License Certificates|HA Info|Reservation Info|Communication Statistics:?|"
            r"Platform Provided Mapping Table)\s*\n=+",
            re.M,
        ),
        "tech-support",
    ),
    (re.compile(r"^Smart Licensing Usage Report Detail:", re.M), "rum-id-detail"),
    (re.compile(r"^Smart Licensing Usage Report:", re.M), "rum-id-all"),
    (re.compile(r"^Smart Licensing Status\s*\n=+", re.M), "all"),
    (re.compile(r"^\s*Message History", re.M), "history-message"),
    (re.compile(r"\*+ Event Log \*+|No EventLog Found", re.M), "eventlog"),
    (re.compile(r"^SlotID\s+PID\s+SN\s+UDI", re.M), "udi"),
    (re.compile(r"\AUDI: PID:\S+|^HA UDI List:", re.M), "udi"),
    (
        re.compile(r"^\s*License Usage:\s*\n\s*License\s+Entitlement Tag\s+Count\s+Status", re.M),
        "summary",
    ),
    (
        re.compile(
            r"^(Smart Licensing Using Policy:|Smart Licensing is (EN|DIS)ABLED|Utility:)", re.M
        ),
        "status",
    ),
    (re.compile(r"^License Authorization:\s*$", re.M), "usage"),
    (re.compile(r"^Feature\s+Ins\s+Lic\s+Status", re.M), "usage"),  # NX-OS before SLUP
    (re.compile(r"^\s*\(\S+\):\s*\n\s+Description:", re.M), "usage"),  # NX-OS 10
    (re.compile(r"^Overall status:\s*\n\s+\w+:\s*PID:", re.M), "authorization"),
    (
        re.compile(r"^\s*License Status:\s*Reported\s*-", re.M | re.I),
        "common-packet-forwarder-status",
    ),
    (re.compile(r"%SMART_LIC-\d-[A-Z_]+", re.M), "logging"),
)
_OTHER_KINDS = {
    "common-packet-forwarder-status": "show-common-packet-forwarder-status",
    "logging": "show-logging",
}

_NOISE = re.compile(r"^(Load for five secs:|Time source is )")


@functools.lru_cache(maxsize=1024)
def command_kind(words: str) -> str | None:
    """The kind for the words typed after ``show license`` (abbreviations allowed). A site
    types the same few commands on every device: each is looked up once."""
    typed = words.split()
    for expected, suffix in COMMANDS:
        if len(typed) < len(expected):
            continue
        if all(
            (want == "#" and word.isdigit()) or (want != "#" and want.startswith(word.lower()))
            for want, word in zip(expected, typed, strict=False)
        ):
            return f"show-license-{suffix}"
    return None


def commands_in(text: str) -> list[tuple[int, str]]:
    """Every ``show license ...`` command line in a capture: (line number, kind)."""
    return commands_in_lines(text.splitlines())


def commands_in_lines(lines: list[str]) -> list[tuple[int, str]]:
    """``commands_in`` of a capture already split into lines (line 1 is ``lines[0]``)."""
    return list(_commands(lines))


def _commands(lines: list[str]) -> Iterator[tuple[int, str]]:
    """The command lines of ``commands_in`` one by one. Every command line holds an ``h``
    (``sh``) and a prompt's ``#`` or ``>``, or starts with ``sh`` (``casefold`` folds what the
    patterns' case-blind ``s`` takes, ``ſ`` too): no other line is matched (most of them)."""
    for number, line in enumerate(lines, start=1):
        if "h" not in line and "H" not in line:
            continue
        if "#" not in line and ">" not in line and line.lstrip()[:2].casefold() != "sh":
            continue
        if (kind := _kind_of(line)) is not None:
            yield number, kind


def _kind_of(line: str) -> str | None:
    """The kind of the command on one line, or None when it is no command line."""
    stripped = line.strip()
    match = _COMMAND_LINE.match(stripped)
    if match and (kind := command_kind(match["rest"])):
        return kind
    if "#" in stripped or ">" in stripped or stripped[:2].lower() == "sh":
        return next((k for pattern, k in OTHER_COMMANDS if pattern.match(stripped)), None)
    return None


def capture_kind(text: str) -> str | None:
    """The kind of the first command a capture holds, or None when it is no known capture."""
    if "\x00" in text:
        return None
    first = next(_commands(text.splitlines()), None)  # a sniff: the first will do
    if first is not None:
        return first[1]
    body = "\n".join(line for line in text.splitlines() if not _NOISE.match(line.strip()))
    body = body.replace("\r", "")
    for pattern, suffix in _HEADINGS:
        if pattern.search(body.lstrip("\n")):
            return _OTHER_KINDS.get(suffix, f"show-license-{suffix}")
    return None
