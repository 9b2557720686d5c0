"""The labelled blocks of ``show license`` output, each read into part of a device state.

:class:`Builder` collects what one command's output says; the functions here read one
labelled block each (``Policy:``, ``Usage Reporting:``, ``Trust Code Installed:``, a license
block, a ``Report Id:`` detail, a history category). A block marks the lines it knows as used
(whether or not the model keeps their value); lines it does not know stay unused and end up in
``unparsed_lines``, so a label that appears in a new release shows up instead of vanishing.
``airgap.state.parse`` walks the capture and calls these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from airgap.formats.common import Udi
from airgap.state.model import (
    Authorization,
    HistoryEntry,
    License,
    Policy,
    PolicyAttributes,
    Report,
    Stamp,
    TrustCode,
    UsageReporting,
)
from airgap.state.sections import Node
from airgap.state.times import Zones, is_sentinel, parse_time, search_time, split_time_prefix

UDI = re.compile(r"PID:\s*(?P<pid>[^,\s]+)\s*,\s*SN:\s*(?P<sn>[^,\s]+)")
_ROLE_UDI = re.compile(r"^(?P<role>[A-Za-z][A-Za-z ]*?)\s*:\s*PID:")
_AS_OF = re.compile(r"\s+As of\s+.*$", re.IGNORECASE)
_DAYS = re.compile(r"^(?P<days>\d+)\s*(?:\((?P<source>[^)]*)\))?")
# "name (tag):", or "(tag):" alone as NX-OS 10 and the ASAv evaluation license print it (SEEN).
_LICENSE_BLOCK = re.compile(r"^(?:(?P<name>\S.*?)\s+)?\((?P<tag>[^()]*)\)$")
_STATUS_CODE = re.compile(r"\s*\(\d+\)$")
_LEADING_INT = re.compile(r"^\s*(\d+)")

# UDI evidence, best first: the capture's own "UDI:" line, the HA list's active member, the
# active slot of "show license udi", other members and slots, trust codes, RUM report details.
RANK_UDI_LINE, RANK_ACTIVE, RANK_SLOT, RANK_MEMBER, RANK_TRUST_ACTIVE, RANK_REPORT, RANK_TRUST = (
    range(7)
)


@dataclass
class Builder:
    """What the output of one command says, collected while walking its tree."""

    kind: str
    lines: list[str]
    tz: Zones | None = None
    hostname: str | None = None
    used: set[int] = field(default_factory=set)
    udis: list[tuple[int, Udi]] = field(default_factory=list)
    smart_account: str | None = None
    virtual_account: str | None = None
    data_privacy: dict[str, Any] = field(default_factory=dict)
    policy: Policy | None = None
    transport_type: str | None = None
    transport_url: str | None = None
    usage_reporting: UsageReporting | None = None
    trust_codes: list[TrustCode] = field(default_factory=list)
    bare_trust: tuple[Stamp, int] | None = None
    licenses: list[License] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    senders: dict[int, str] = field(default_factory=dict)  # history index -> its syslog host
    authorizations: list[Authorization] = field(default_factory=list)
    report_summary: dict[str, int] = field(default_factory=dict)
    forwarder: dict[str, bool] = field(default_factory=dict)
    clocks: list[tuple[int, Stamp, str]] = field(default_factory=list)  # (rank, time, source)
    collected: dict[str, str] = field(default_factory=dict)
    none_raw: dict[str, str] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set)
    marking: bool = True  # False: no unparsed lines are gathered, so ``use`` marks nothing

    def use(self, node: Node, subtree: bool = False) -> None:
        """Mark a line (and everything under it) as read."""
        if not self.marking:
            return
        self.used.add(node.line)
        if subtree:
            self.used.update(n.line for n in descendants(node))

    def text(self, node: Node) -> str:
        """The line as printed, without surrounding white space."""
        return self.lines[node.line - 1].strip()

    def time(self, node: Node | None) -> Stamp | None:
        """A node's value as a time; ``<none>`` is a Stamp shown as none, no line is None."""
        return parse_time(node.value, self.tz) if node is not None and node.value else None

    def text_value(self, node: Node | None, where: str) -> str | None:
        """A node's text value; a sentinel is None and remembered as shown as none."""
        if node is not None and node.value is not None and is_sentinel(node.value):
            self.none_raw[where] = node.value.strip()
        return value(node)

    def clock(self, rank: int, stamp: Stamp | None, source: str) -> None:
        """Evidence of the device's own time when the capture was taken; lowest rank wins."""
        if stamp is not None and stamp.iso is not None:
            self.clocks.append((rank, stamp, source))

    def add_udi(self, rank: int, udi: Udi) -> None:
        """Evidence for the device's UDI; :meth:`device_udi` picks the best."""
        self.udis.append((rank, udi))

    def device_udi(self) -> Udi | None:
        """The best UDI evidence: lowest rank, then first seen."""
        return min(self.udis, key=lambda item: item[0])[1] if self.udis else None


def descendants(node: Node) -> Iterator[Node]:
    """Every node below, in output order; unlike ``Node.walk`` safe at any depth."""
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        yield child
        stack.extend(reversed(child.children))


def value(node: Node | None) -> str | None:
    """A node's value with the device's "no value" sentinels read as None."""
    if node is None or node.value is None or is_sentinel(node.value):
        return None
    return node.value.strip()


def udi_in(text: str) -> Udi | None:
    """The first ``PID:...,SN:...`` in a line."""
    match = UDI.search(text)
    return Udi(match["pid"], match["sn"]) if match else None


def _digits(text: str | None) -> bool:
    """ASCII digits only: ``isdigit`` also takes "²", which ``int`` refuses."""
    return text is not None and text.isascii() and text.isdigit()


def leading_int(text: str | None) -> int | None:
    """``30  days State(4)`` -> 30; None when the text does not start with a number."""
    match = _LEADING_INT.match(text or "")
    return int(match[1]) if match else None


def known_children(b: Builder, node: Node, known: Collection[str]) -> dict[str, Node]:
    """Mark the block and its children with a known label as used; the first of each label."""
    b.use(node)
    found: dict[str, Node] = {}
    for child in node.children:
        label = child.label.lower()
        if label in known:
            b.use(child, subtree=True)
            found.setdefault(label, child)
    return found


def account(b: Builder, node: Node) -> None:
    """``Account Information:`` (and the older ``Registration:``): account names."""
    known = {"smart account", "virtual account"}
    if node.label.lower() == "registration":
        known |= {
            "status",
            "export-controlled functionality",
            "initial registration",
            "last renewal attempt",
            "next renewal attempt",
            "registration expires",
        }
    found = known_children(b, node, known)
    b.shown.add("account")
    if "smart account" in found:
        account_line(b, found["smart account"])
    if "virtual account" in found:
        account_line(b, found["virtual account"])


def account_line(b: Builder, node: Node) -> None:
    """``Smart Account:`` or ``Virtual Account:``, also on a line of its own at the top level
    (SEEN un-indented under ``Registration:``)."""
    b.use(node)
    b.shown.add("account")
    if node.label.lower() == "smart account":
        name = b.text_value(node, "account.smart_account")
        b.smart_account = _AS_OF.sub("", name) if name else None
    else:
        b.virtual_account = b.text_value(node, "account.virtual_account")


def data_privacy(b: Builder, node: Node) -> None:
    """``Data Privacy:``: every labelled line, snake_case keys; ``yes``/``no`` as booleans."""
    b.use(node)
    b.shown.add("data_privacy")
    for child in descendants(node):
        if child.value is None:
            continue
        b.use(child)
        key = re.sub(r"[^a-z0-9]+", "_", child.label.lower()).strip("_")
        text = value(child)
        flag = {"yes": True, "no": False}.get((text or "").lower())
        b.data_privacy[key] = flag if flag is not None else text


def transport(b: Builder, node: Node) -> None:
    """``Transport:``: the type and the address the device sends to."""
    found = known_children(
        b, node, {"type", "url", "cslu address", "proxy", "vrf", "server identity check"}
    )
    b.shown.add("transport")
    if "type" in found:
        b.transport_type = b.text_value(found["type"], "transport.type")
    url = found.get("url") or found.get("cslu address")
    if url is not None:
        b.transport_url = b.text_value(url, "transport.url")


_POLICY_FIELDS = {
    "first report": "first_report_days",
    "reporting frequency": "reporting_frequency_days",
    "report on change": "report_on_change_days",
}


def policy_kind(label: str) -> str | None:
    """The POLICY_KINDS key of an attribute block title, or None."""
    words = label.lower()
    if words.startswith("unenforced"):
        return (
            "unenforced_perpetual"
            if "perpetual attributes" in words
            else "unenforced_subscription"
            if "subscription attributes" in words
            else None
        )
    if words.startswith("enforced"):
        return "enforced"
    return "export" if words.startswith("export") else None


def policy(b: Builder, node: Node) -> None:
    """``Policy:``: name, when it was installed, whether ACKs are required, reporting days.

    A site's devices run a few policies, printed alike: when no lines are marked, a block
    printed as one read before (its lines, the same zones) takes what that one gave."""
    if b.marking:
        _policy(b, node)
        return
    key = (tuple(b.lines[n.line - 1] for n in (node, *descendants(node))), _zones_key(b.tz))
    known = _POLICIES.get(key)
    if known is None:
        if len(_POLICIES) >= 256:  # a site has a few: more means no two alike, start afresh
            _POLICIES.clear()
        scratch = Builder(b.kind, b.lines, b.tz, marking=False)  # what this block alone gives
        _policy(scratch, node)
        known = _POLICIES[key] = (scratch.policy, scratch.none_raw.get("policy.name"))
    b.shown.add("policy")
    b.policy, none_name = known
    if none_name is not None:
        b.none_raw["policy.name"] = none_name


_POLICIES: dict[tuple[object, ...], tuple[Policy | None, str | None]] = {}


def _zones_key(tz: Zones | None) -> tuple[tuple[str, object], ...] | None:
    return tuple(sorted(tz.items())) if tz else None


def _policy(b: Builder, node: Node) -> None:
    found = known_children(b, node, {"policy in use", "policy name", "reporting ack required"})
    installed = value(found.get("policy in use"))
    ack = (value(found.get("reporting ack required")) or "").lower()
    attributes = {}
    for child in node.children:
        kind = policy_kind(child.label)
        if kind is not None and child.value is None:
            attributes[kind] = _attributes(b, child)
    b.shown.add("policy")
    b.policy = Policy(
        name=b.text_value(found.get("policy name"), "policy.name"),
        installed_on=search_time(installed, b.tz) if installed else None,
        ack_required=True if ack.startswith("yes") else False if ack.startswith("no") else None,
        attributes=attributes,
    )


def _attributes(b: Builder, node: Node) -> PolicyAttributes:
    b.use(node)
    days: dict[str, int] = {}
    sources: list[str] = []
    for child in node.children:
        name = next(
            (f for p, f in _POLICY_FIELDS.items() if child.label.lower().startswith(p)), None
        )
        match = _DAYS.match(child.value or "")
        if name is None or match is None:
            continue
        b.use(child)
        days[name] = int(match["days"])
        if match["source"] and match["source"] not in sources:
            sources.append(match["source"])
    return PolicyAttributes(**days, source=", ".join(sources) or None)


def usage_reporting(b: Builder, node: Node) -> None:
    """``Usage Reporting:``: the last ACK, the ACK deadline, report pushes and their interval."""
    if b.usage_reporting is not None:
        return  # tech support prints a second block of that name: communication statistics
    found = known_children(
        b,
        node,
        {
            "last ack received",
            "next ack deadline",
            "last report push",
            "next report push",
            "reporting push interval",
            "next ack push check",
            "last report file write",
        },
    )
    b.shown.add("usage_reporting")
    b.usage_reporting = UsageReporting(
        last_ack_received=b.time(found.get("last ack received")),
        next_ack_deadline=b.time(found.get("next ack deadline")),
        last_report_push=b.time(found.get("last report push")),
        next_report_push=b.time(found.get("next report push")),
        reporting_push_interval_days=leading_int(value(found.get("reporting push interval"))),
        last_report_file_write=b.time(found.get("last report file write")),
        next_ack_push_check=b.time(found.get("next ack push check")),
    )


def trust_code_installed(b: Builder, node: Node) -> None:
    """``Trust Code Installed:``: ``<none>``, one time for the device, or one block per member."""
    b.use(node)
    b.shown.add("trust_codes")
    text = value(node)
    if text is not None:
        stamp = search_time(text, b.tz)
        if stamp is not None:
            b.bare_trust = (stamp, node.line)  # whose it is: parse decides once the UDI is known
        else:
            b.used.discard(node.line)
    for child in node.children:
        udi, line = udi_in(b.text(child)), b.text(child)
        if udi is None:
            continue
        b.use(child, subtree=True)
        role_match = _ROLE_UDI.match(line)
        role = role_match["role"] if role_match else None
        notes = " ".join(b.text(n) for n in descendants(child))
        if "NOT INSTALLED" in notes.upper():
            continue
        b.trust_codes.append(TrustCode(udi, role, search_time(notes, b.tz)))
        b.add_udi(RANK_TRUST_ACTIVE if (role or "").lower() == "active" else RANK_TRUST, udi)


def udi_line(b: Builder, node: Node) -> None:
    """``UDI: PID:...,SN:...``: the device's own identity."""
    udi = udi_in(node.value or "")
    if udi is not None:
        b.use(node)
        b.add_udi(RANK_UDI_LINE, udi)


def ha_udi_list(b: Builder, node: Node) -> None:
    """``HA UDI List:``: one ``Role:PID:...,SN:...`` line per member."""
    b.use(node)
    for child in node.children:
        udi = udi_in(b.text(child))
        if udi is not None:
            b.use(child)
            b.add_udi(
                RANK_ACTIVE if b.text(child).lower().startswith("active") else RANK_MEMBER, udi
            )


_LICENSE_LABELS = {
    "description",
    "count",
    "version",
    "status",
    "export status",
    "feature name",
    "feature description",
    "enforcement type",
    "license type",
}
_HANDLE_LABELS = _LICENSE_LABELS | {
    "license",
    "entitlement tag",
    "status time",
    "request time",
    "measurements",
    "soft enforced",
}


def license_block(b: Builder, node: Node) -> bool:
    """``name (tag):`` (``usage``, ``all``) or ``Handle: n`` (tech support); False if neither."""
    match = _LICENSE_BLOCK.match(node.label)
    if not {"count", "status"} <= {child.label.lower() for child in node.children}:
        return False
    if node.label.lower() == "handle" and _digits(node.value):
        found = known_children(b, node, _HANDLE_LABELS)
        name = value(found.get("license")) or value(found.get("feature name")) or ""
        tag = value(found.get("entitlement tag"))
    elif match and node.value is None:
        found = known_children(b, node, _LICENSE_LABELS)
        tag = match["tag"] or None
        name = match["name"] or value(found.get("feature name")) or tag or ""
    else:
        return False
    b.shown.add("licenses")
    status = value(found.get("status"))
    b.licenses.append(
        License(
            name=name,
            entitlement_tag=tag,
            count=leading_int(value(found.get("count"))),
            status=_STATUS_CODE.sub("", status) if status else None,
            enforcement=value(found.get("enforcement type")),
            export_status=value(found.get("export status")),
        )
    )
    return True


_DETAIL_LABELS = {
    "metric name",
    "feature name",
    "metric value",
    "udi",
    "previous report id",
    "state",
    "start time",
    "storage state",
    "transaction id",
    "transaction message",
}


def report_detail(b: Builder, node: Node) -> None:
    """``Report Id: n`` with its detail lines (``rum id <n> detail``)."""
    if not _digits(node.value) or not node.children:
        return
    found = known_children(b, node, _DETAIL_LABELS)
    b.shown.add("reports")
    state = (value(found.get("state")) or "").split(",")[0].strip()
    b.reports.append(
        Report(int(node.value or 0), state or None, None, value(found.get("feature name")))
    )
    udi = udi_in(value(found.get("udi")) or "")
    if udi is not None:
        b.add_udi(RANK_REPORT, udi)


def history_category(b: Builder, node: Node) -> None:
    """One category of ``history message`` (``Import POLICY:``) and its timed messages."""
    b.use(node)
    b.shown.add("history")
    for child in node.children:
        b.use(child)
        line = b.text(child)
        if line.lower().startswith("no past"):
            continue
        timed = split_time_prefix(line, b.tz)
        stamp, message = timed if timed else (None, line)
        b.history.append(HistoryEntry(node.label, message, stamp))


def authorizations(b: Builder, node: Node) -> None:
    """``Overall status:`` of ``License Authorizations`` / ``show license authorization``: the
    SLAC state per member (``Active: PID:...,SN:...`` then ``Status: NOT INSTALLED``)."""
    b.use(node)
    b.shown.add("authorizations")
    for child in node.children:
        udi = udi_in(b.text(child))
        if udi is None:
            continue
        b.use(child, subtree=True)
        role_match = _ROLE_UDI.match(b.text(child))
        found = {n.label.lower(): n for n in child.children}
        code = next((value(n) for label, n in found.items() if "confirmation code" in label), None)
        status = value(found.get("status")) or value(found.get("authorization status"))
        b.authorizations.append(
            Authorization(udi, role_match["role"] if role_match else None, status, code)
        )
        b.add_udi(
            RANK_TRUST_ACTIVE
            if role_match and role_match["role"].lower() == "active"
            else RANK_TRUST,
            udi,
        )


_COUNTER = re.compile(r"(?P<label>[A-Za-z][A-Za-z ]*?)\s*:\s*(?P<count>\d+)")
_COUNTER_NAMES = {
    "total": "total",
    "purged": "purged",
    "total acknowledged received": "acknowledged",
    "waiting for ack": "waiting_for_ack",
    "available to report": "available_to_report",
    "collecting data": "collecting_data",
    "maximum display": "maximum_display",
    "in storage": "in_storage",
    "mia": "mia",
}


def report_summary_line(b: Builder, node: Node) -> bool:
    """A line of ``Usage Report Summary`` (``Total: 810,  Purged: 902(902)``): its counters."""
    found = False
    for match in _COUNTER.finditer(b.text(node)):
        name = _COUNTER_NAMES.get(match["label"].strip().lower())
        if name is not None:
            b.report_summary[name] = int(match["count"])
            found = True
    if found:
        b.shown.add("report_summary")
    return found


def forwarder_status(b: Builder, node: Node) -> None:
    """``License Status: Reported - Yes, Acknowledged - Yes`` (``show common-packet-forwarder
    status`` on the Wireless Gateway for LoRaWAN)."""
    for word, flag in re.findall(
        r"(Reported|Acknowledged)\s*-\s*(Yes|No)", node.value or "", re.IGNORECASE
    ):
        b.forwarder[word.lower()] = flag.lower() == "yes"
    if b.forwarder:
        b.use(node)


def ignore(b: Builder, node: Node) -> None:
    """A block whose every line is known and none is kept in the model."""
    b.use(node, subtree=True)


SECTIONS: dict[str, Callable[[Builder, Node], None]] = {
    "account information": account,
    "registration": account,
    "data privacy": data_privacy,
    "transport": transport,
    "policy": policy,
    "usage reporting": usage_reporting,
    "trust code installed": trust_code_installed,
    "udi": udi_line,
    "ha udi list": ha_udi_list,
    "smart account": account_line,
    "virtual account": account_line,
    "overall status": authorizations,
    **dict.fromkeys(
        (
            "utility",
            "smart licensing using policy",
            "miscellaneous",
            "export authorization key",
            "license conversion",
            "license authorization",
            "purchased licenses",
            "smart licensing is enabled",
            "smart licensing is disabled",
        ),
        ignore,
    ),
}
