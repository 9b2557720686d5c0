"""``show license ...`` captures read into :class:`~airgap.state.model.DeviceState`.

A capture file may hold one command's output or a whole session: prompt lines, several
commands, ``Load for five secs`` banners. :func:`parse_capture` splits it on the command lines
(``host#show license ...``) and gives one state per command; a capture with no command line is
one state of the kind its headings show. Nothing here raises on odd input: lines this module
does not know are kept, in order, in ``unparsed_lines``, and a missing section leaves its
fields None.

The commands of one file come from one session on one device, so a state that does not name
its device (``show license status`` does not) takes the UDI and host name another command of
the same file shows. A capture airgap collected itself starts with a header of ``!`` comment
lines (:data:`HEADER`) naming the inventory device; it is read into ``collected`` and the
device's clock. The device's own time when the capture was taken (``clock``) comes from, best
first: airgap's header, ``Current time:`` (tech support), a ``Time source is`` banner or
``show clock`` line, the newest time among the capture's own events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from airgap.formats import showcli
from airgap.formats.common import Udi
from airgap.state import parse_blocks as blocks
from airgap.state import syslog
from airgap.state.model import DeviceState, HistoryEntry, License, Report, Stamp, TrustCode
from airgap.state.parse_blocks import Builder
from airgap.state.sections import Node, parse_lines
from airgap.state.times import Zones, parse_time, search_time, split_time_prefix

UNKNOWN_KIND = "unknown"
MAX_DEPTH = 20  # titles nested deeper than this are left unread (real output nests 2)

_SEPARATOR_CHARS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # other line separators
_SEPARATORS = re.compile(f"[{_SEPARATOR_CHARS}]")
_PROMPT = re.compile(r"^(?P<host>[\w.\-()/:]+)[#>]")
_BARE_PROMPT = re.compile(r"^[\w.\-()/:]+[#>]\s*$")
_UNDERLINE = re.compile(r"^\s*[=\-]{3,}\s*$")
_EVENT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d")
_SYSLOG = re.compile(r"%(?P<category>[A-Z][A-Z0-9_]*-\d-[A-Z0-9_]+)\s*:\s*(?P<message>.*)$")
# The host a syslog server wrote before an event it received: after RFC 5424's version and
# time (``-`` is no host), an RFC 3339 time (rsyslog's file format) or RFC 3164's
# ``Mmm dd hh:mm:ss``. A device's own ``show logging`` line names no host: its time ends in ":".
_SENDER = re.compile(
    r"^(?:<\d{1,3}>)?(?:1 (?:\d{4}-\d{2}-\d{2}T\S+|-)|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\S*"
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (?P<host>\S*[^\s:])(?=\s)"
)
_TRUST_DATA = re.compile(r"^P:(?P<pid>[^,\s]+),S:(?P<sn>[^:\s]+):\s*(?P<rest>.*)$")
_HEADERS = {
    "license": re.compile(r"^License\s+Entitlement Tag\s+Count\s+Status", re.I),
    "report": re.compile(r"^Report Id,\s*State,\s*Flag,\s*Feature Name", re.I),
    "udi": re.compile(r"^SlotID\s+PID\s+SN\s+UDI", re.I),
    "feature": re.compile(r"^Feature\s+Ins\s+Lic\s+Status", re.I),  # NX-OS before SLUP
}
# NX-OS "show license usage" before Smart Licensing Using Policy: feature, installed, count.
_FEATURE_ROW = re.compile(
    r"^(?P<name>[A-Z0-9][\w\-.]*)\s+(?P<installed>Yes|No)\s+(?P<count>\d+|-)\s+"
    r"(?P<status>In use|Unused|\S+)(?:\s+(?P<rest>.*\S))?\s*$"
)
# airgap's capture header: "! airgap capture", then "! name: value" lines (DESIGN.md Devices).
HEADER = "! airgap capture"
_HEADER_LINE = re.compile(r"^!\s*(?P<key>[a-z][a-z\-]*):\s*(?P<value>.*?)\s*$")
_TIME_SOURCE = re.compile(r"^Time source is [^,]*,\s*(?P<clock>.*)$", re.I)
_SHOW_CLOCK = re.compile(
    r"^[*.]?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\s+[A-Za-z]+\s+[A-Za-z]{3}\s+"
    r"[A-Za-z]{3}\s+\d{1,2}\s+\d{4}$"
)
# Clock evidence, best first.
CLOCK_HEADER, CLOCK_CURRENT, CLOCK_LINE, CLOCK_EVENTS = range(4)
_LICENSE_ROW = re.compile(
    r"^(?P<name>\S.*?)\s+\((?P<tag>.*)\)\s+(?P<count>\d+)\s+(?P<status>\S.*?)\s*$"
)
_REPORT_ROW = re.compile(
    r"^(?P<id>\d+)\s+(?P<state>[A-Z_]+)\s+(?P<flag>\S+)(?:\s+(?P<feature>\S.*?))?\s*$"
)

# Titles of underlined sections (and a few bare title lines) whose content is read here.
HEADINGS = frozenset(
    {
        "smart licensing status",
        "license usage",
        "product information",
        "smart licensing tech support info",
        "smart licensing usage report",
        "smart licensing usage report detail",
        "**** event log ****",
        "no eventlog found.",
        "message history (oldest to newest)",
        "import message history (oldest to newest)",
    }
)
# Underlined sections of ``all`` and ``tech support`` that are known but not modelled.
IGNORED_REGIONS = frozenset(
    {
        "agent version",
        "upcoming scheduled jobs",
        "communication statistics",
        "license certificates",
        "ha info",
        "reservation info",
        "usage report summary",
        "telemetry report summary",
        "device telemetry report summary",
        "other info",
        "platform provided mapping table",
        "license authorizations",
    }
)
# Regions of flat lines after which a known block (``Trust Code Installed:``) is still read.
FLAT_REGIONS = frozenset(
    {
        "usage report summary",
        "telemetry report summary",
        "device telemetry report summary",
        "agent version",
        "license authorizations",
        "upcoming scheduled jobs",
    }
)
HISTORY_REGIONS = frozenset(
    {"message history (oldest to newest)", "import message history (oldest to newest)"}
)


@dataclass(frozen=True)
class _Segment:
    """The lines of one command's output, the prompt's host name and the command's kind."""

    kind: str
    hostname: str | None
    lines: list[str]


def parse_capture(
    text: str,
    path: str | None = None,
    tz: Zones | None = None,
    *,
    unparsed: bool = True,
    source: tuple[str, ...] = (),
) -> list[DeviceState]:
    """One DeviceState per ``show license`` command in ``text`` (none for blank text).

    ``tz`` maps a time-zone label the device prints to its offset east of UTC
    (``{"PDT": timedelta(hours=-7)}``, see :func:`airgap.state.times.parse_tz`); times in
    other zones than UTC stay local time without an offset. With ``unparsed`` False the
    lines not understood are not gathered (site summaries drop them): ``unparsed_lines`` is
    empty. ``source`` is where a walk found the capture, as parts (``path`` shows them).
    """
    lines = _lines(text)
    collected = _header(lines)
    builders = [_read(segment, tz, unparsed) for segment in _segments(lines)]
    return _finish(builders, path, collected, unparsed, source)


def _header(lines: list[str]) -> dict[str, str]:
    """airgap's own capture header, read and blanked out (line numbers stay as they were)."""
    if not lines or lines[0].strip() != HEADER:
        return {}
    found: dict[str, str] = {}
    lines[0] = ""
    for number in range(1, len(lines)):
        match = _HEADER_LINE.match(lines[number].strip())
        if match is None:
            break
        found[match["key"]] = match["value"]
        lines[number] = ""
    return found


def _lines(text: str) -> list[str]:
    """Lines split on CRLF, CR or LF only; other line separators become spaces, NULs go."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if any(separator in text for separator in _SEPARATOR_CHARS):  # a twentieth of a search
        text = _SEPARATORS.sub(" ", text)
    return (text.replace("\x00", "") if "\x00" in text else text).split("\n")


def _segments(lines: list[str]) -> list[_Segment]:
    if not any(line.strip() for line in lines):
        return []
    commands = showcli.commands_in_lines(lines)
    if not commands:
        text = "\n".join(lines)
        return [_Segment(showcli.capture_kind(text) or UNKNOWN_KIND, None, lines)]
    segments = []
    for index, (number, kind) in enumerate(commands):
        end = commands[index + 1][0] - 1 if index + 1 < len(commands) else len(lines)
        body = lines[number:end]
        if index == 0:
            body = lines[: number - 1] + body  # what came before the first command line
        prompt = _PROMPT.match(lines[number - 1].strip())
        segments.append(_Segment(kind, prompt["host"] if prompt else None, body))
    return segments


def _read(segment: _Segment, tz: Zones | None, unparsed: bool) -> tuple[Builder, Node]:
    tree = parse_lines(segment.lines)
    builder = Builder(
        segment.kind, segment.lines, tz=tz, hostname=segment.hostname, marking=unparsed
    )
    for number, line in enumerate(segment.lines, start=1):  # banners and show clock lines
        first = line.lstrip()[:1]
        if not first or (first not in "Tt*." and first.isascii() and not first.isdigit()):
            continue  # most lines: neither pattern can match (case-blind ones may fold non-ASCII)
        text = line.strip()
        if (banner := _TIME_SOURCE.match(text)) is not None:
            builder.clock(CLOCK_LINE, search_time(banner["clock"], tz), "Time source line")
        elif _SHOW_CLOCK.match(text):
            builder.clock(CLOCK_LINE, search_time(text, tz), "show clock")
            builder.used.add(number)
    walker = _Walker(builder)
    if segment.kind == "show-license-rum-id-all":
        walker.default_table = "report"  # "| include ..." prints rows without the header
    walker.visit(tree.children)
    return builder, tree


class _Walker:
    """Walks the top of a tree: underlined sections, tables, event lines, labelled blocks."""

    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self.region: str | None = None
        self.table: str | None = None
        self.default_table: str | None = None
        self.depth = 0

    def visit(self, nodes: Iterable[Node]) -> None:
        if self.depth > MAX_DEPTH:
            return  # no real output nests titles this deep; what is left stays unparsed
        self.depth += 1
        for node in nodes:
            self.node(node)
        self.depth -= 1

    def node(self, node: Node) -> None:
        if self._line(node):
            return
        self.table = None
        label = node.label.lower()
        if label in HEADINGS or self._underlined(node):  # summary's "License Usage:" too
            self.region = label
            if label in HEADINGS or label in IGNORED_REGIONS:
                self.b.use(node)
            self.visit(node.children)
        elif label == "current time" and node.value:
            self.b.use(node)
            self.b.clock(CLOCK_CURRENT, parse_time(node.value, self.b.tz), "Current time")
        elif self.region == "usage report summary" and blocks.report_summary_line(self.b, node):
            self.b.use(node, subtree=True)
        elif self.region in FLAT_REGIONS and blocks.SECTIONS.get(label, blocks.ignore) not in (
            blocks.ignore,
            blocks.usage_reporting,
        ):
            blocks.SECTIONS[label](self.b, node)
        elif self.region in IGNORED_REGIONS:
            blocks.ignore(self.b, node)
        elif label == "license status" and "reported" in (node.value or "").lower():
            blocks.forwarder_status(self.b, node)
        elif self.region in HISTORY_REGIONS:
            blocks.history_category(self.b, node)
        elif label in blocks.SECTIONS:
            blocks.SECTIONS[label](self.b, node)
        elif label == "report id":
            blocks.report_detail(self.b, node)
        else:
            blocks.license_block(self.b, node)  # or nothing known: left unparsed

    def _underlined(self, node: Node) -> bool:
        if node.value is not None or node.line >= len(self.b.lines):
            return False
        following = self.b.lines[node.line]
        return following.lstrip()[:1] in ("=", "-") and bool(_UNDERLINE.match(following))

    def _line(self, node: Node) -> bool:
        """Lines read whole, whatever their labels: table rows, prompts, events, trust data."""
        text = self.b.text(node)
        header = _header_of(text)
        if header is not None:
            self.table = header
            self.b.use(node)
            self.b.shown.add(_TABLE_PARTS[header])
            rows = [
                child
                for child in node.children  # less a header's second line
                if not (header == "feature" and self.b.text(child).lower() == "count")
            ]
            self.b.used.update(child.line for child in node.children if child not in rows)
            self.visit(rows)  # rows indented under the header
            return True
        table = self.table or self.default_table
        if table is not None and _ROWS[table](self.b, text):
            self.b.use(node, subtree=True)
            return True
        if self._prompt(text) or self._event(text) or self._trust_data(text):
            self.b.use(node)
            return True
        return False

    def _prompt(self, text: str) -> bool:
        if text[-1:] not in ("#", ">") or not _BARE_PROMPT.match(text):
            return False
        self.b.hostname = self.b.hostname or text.rstrip("#> \t")
        return True

    def _event(self, text: str) -> bool:
        event = _SYSLOG.search(text) if "%" in text else None
        if event:
            head = text[: event.start()]
            sender = _SENDER.match(head)
            if sender is None:
                stamp = search_time(head, self.b.tz)
            else:  # the device's own time after the host, if it sent one, else the server's
                stamp = search_time(head[sender.end() :], self.b.tz) or search_time(
                    head[: sender.start("host")], self.b.tz
                )
                if sender["host"] != "-":
                    self.b.senders[len(self.b.history)] = sender["host"]
            self.b.history.append(
                HistoryEntry(
                    event["category"], event["message"], stamp, syslog.meaning(event["category"])
                )
            )
            self.b.shown.add("history")
            return True
        dated = text[:1].isdigit() and _EVENT.match(text)
        timed = split_time_prefix(text, self.b.tz) if dated else None
        if timed is None:
            return False
        stamp, message = timed
        self.b.history.append(HistoryEntry(message.split(" ", 1)[0] or None, message, stamp))
        self.b.shown.add("history")
        return True

    def _trust_data(self, text: str) -> bool:
        match = _TRUST_DATA.match(text) if text.startswith("P:") else None
        if not match:
            return False
        if re.search(r"\bTrust Data INSTALLED\b", match["rest"], re.I):
            udi = Udi(match["pid"], match["sn"])
            self.b.shown.add("trust_codes")
            # the members "Trust Code Installed:" listed, or both supervisors of one chassis
            if all(code.udi != udi for code in self.b.trust_codes):
                self.b.trust_codes.append(TrustCode(udi))
                self.b.add_udi(blocks.RANK_TRUST, udi)
        return True


def _header_of(text: str) -> str | None:
    """The table whose header line ``text`` is, or None; the patterns run only on a line
    that starts as one of them may (case-blind matching folds some non-ASCII letters)."""
    first = text[:1]
    if not first or (first not in "LlRrSsFf" and first.isascii()):
        return None
    return next((name for name, pattern in _HEADERS.items() if pattern.match(text)), None)


def _license_row(b: Builder, text: str) -> bool:
    match = _LICENSE_ROW.match(text)
    if match:
        b.licenses.append(
            License(match["name"], match["tag"] or None, int(match["count"]), match["status"])
        )
    return match is not None


def _feature_row(b: Builder, text: str) -> bool:
    match = _FEATURE_ROW.match(text)
    if match:
        count = int(match["count"]) if match["count"].isdigit() else None
        b.licenses.append(License(match["name"], None, count, match["status"]))
    return match is not None


def _report_row(b: Builder, text: str) -> bool:
    match = _REPORT_ROW.match(text)
    if match:
        b.reports.append(Report(int(match["id"]), match["state"], match["flag"], match["feature"]))
        b.shown.add("reports")
    return match is not None


def _udi_row(b: Builder, text: str) -> bool:
    words = text.split()
    if len(words) not in (3, 4) or (len(words) == 4 and words[-1] != f"{words[1]}:{words[2]}"):
        return False
    pid, sn = words[-3], words[-2]
    b.add_udi(blocks.RANK_SLOT if words[0] == "*" else blocks.RANK_MEMBER, Udi(pid, sn))
    return True


_ROWS: dict[str, Callable[[Builder, str], bool]] = {
    "license": _license_row,
    "report": _report_row,
    "udi": _udi_row,
    "feature": _feature_row,
}
_TABLE_PARTS = {"license": "licenses", "report": "reports", "udi": "udi", "feature": "licenses"}


def _finish(
    read: list[tuple[Builder, Node]],
    path: str | None,
    collected: dict[str, str],
    unparsed: bool,
    source: tuple[str, ...],
) -> list[DeviceState]:
    """States from builders; a state that names no device takes the file's UDI and host, and
    every state of the file takes the file's clock (one session, one device). Events a syslog
    server received from other hosts are one state per host (:func:`_relayed`)."""
    file_host = next((b.hostname for b, _ in read if b.hostname), None)
    relayed: dict[str, tuple[str, list[HistoryEntry]]] = {}  # by host name, case folded
    for b, _ in read:
        _relayed(b, b.hostname or file_host, relayed)
    own = [b.device_udi() for b, _ in read]  # the UDI each command shows, if any
    file_udi = next((udi for udi in own if udi), None)
    header_udi = blocks.udi_in(collected.get("udi", ""))
    clock, clock_source = _clock(read, collected)
    states = []
    for (b, tree), shown_udi in zip(read, own, strict=True):
        udi = shown_udi or file_udi
        udi_source = (
            "capture" if shown_udi else "file" if file_udi else "header" if header_udi else None
        )
        udi = udi or header_udi
        if b.bare_trust is not None:  # "Trust Code Installed: <time>": the device's own
            b.trust_codes.append(TrustCode(udi, None, b.bare_trust[0]))
        history = tuple(syslog.with_year(h, clock) for h in b.history)
        left = (
            tuple(
                b.lines[n.line - 1].rstrip()
                for n in blocks.descendants(tree)
                if n.line not in b.used
            )
            if unparsed
            else ()
        )
        if relayed and not (b.shown or left):
            continue  # a syslog server's file: nothing in it is the file's own device
        states.append(
            DeviceState(
                kind=b.kind,
                path=path,
                source=source,
                udi=udi,
                hostname=b.hostname or file_host,
                smart_account=b.smart_account,
                virtual_account=b.virtual_account,
                data_privacy=b.data_privacy,
                policy=b.policy,
                transport_type=b.transport_type,
                transport_url=b.transport_url,
                usage_reporting=b.usage_reporting,
                trust_codes=tuple(b.trust_codes),
                licenses=tuple(b.licenses),
                reports=tuple(b.reports),
                history=history,
                authorizations=tuple(b.authorizations),
                report_summary=b.report_summary,
                forwarder=b.forwarder,
                clock=clock,
                clock_source=clock_source,
                collected=collected,
                udi_source=udi_source,
                none_raw=b.none_raw,
                shown=frozenset(b.shown),
                unparsed_lines=left,
            )
        )
    kind = read[0][0].kind if read else UNKNOWN_KIND
    states.extend(_sent(kind, host, events, path, source) for host, events in relayed.values())
    return states


def _relayed(
    b: Builder, own_host: str | None, into: dict[str, tuple[str, list[HistoryEntry]]]
) -> None:
    """Move the events a syslog server wrote for other hosts than ``own_host`` out of the
    builder, into ``into`` by host (a central server's file names every device it hears; one
    device they are not). Events of the capture's own host stay; names are not case-sensitive."""
    if not b.senders:
        return
    own = own_host.casefold() if own_host else None
    kept = []
    for index, entry in enumerate(b.history):
        host = b.senders.get(index)
        if host is None or host.casefold() == own:
            kept.append(entry)
        else:
            into.setdefault(host.casefold(), (host, []))[1].append(entry)
    if not kept:
        b.shown.discard("history")  # what it showed was other devices' history
    b.history = kept


def _sent(
    kind: str, host: str, events: list[HistoryEntry], path: str | None, source: tuple[str, ...]
) -> DeviceState:
    """The state of one host a syslog server's file names: its events, and as its clock the
    newest of them (the file's other times are other devices' clocks)."""
    times = [h.time for h in events if h.time and h.time.iso]
    clock = max(times, key=lambda t: t.iso or "") if times else None
    return DeviceState(
        kind=kind,
        path=path,
        source=source,
        hostname=host,
        history=tuple(syslog.with_year(h, clock) for h in events),
        clock=clock,
        clock_source=f"the newest event of {host} in the file" if clock else None,
        shown=frozenset({"history"}),
    )


def _clock(
    read: list[tuple[Builder, Node]], collected: dict[str, str]
) -> tuple[Stamp | None, str | None]:
    """The device's time when the file was captured, and the line that said it."""
    found = [clock for b, _ in read for clock in b.clocks]
    taken = collected.get("taken", "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", taken):  # as airgap writes it
        found.append((CLOCK_HEADER, Stamp(taken, taken), "airgap capture header"))
    events = [h.time for b, _ in read for h in b.history if h.time and h.time.iso]
    if events:
        found.append(
            (
                CLOCK_EVENTS,
                max(events, key=lambda t: t.iso or ""),
                "the newest event in the capture",
            )
        )
    if not found:
        return None, None
    _, stamp, source = min(found, key=lambda item: item[0])
    return stamp, source
