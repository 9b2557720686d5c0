"""The JSON ``airgap state --format json`` writes, read back into device states.

A central team combines sites from the state files each site already carries (DESIGN.md
"Health"): ``health``, ``reconcile`` and ``deadlines`` read them like captures. Reading is
strict about shape and lenient about content: a value of the wrong type is left out, as a
capture line airgap could not read would be; a file that is not a state envelope at all is an
error naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airgap.errors import AirgapError, ExitCode
from airgap.formats.common import Udi
from airgap.fsutil import open_regular
from airgap.state.model import (
    PARTS,
    Authorization,
    DeviceState,
    HistoryEntry,
    License,
    Policy,
    PolicyAttributes,
    Report,
    Stamp,
    TrustCode,
    UsageReporting,
)

if TYPE_CHECKING:
    from airgap.inputs import Item

T = TypeVar("T")
_PREFIX = b'"command": "state"'


class StateFileError(AirgapError):
    """A file that looks like ``airgap state`` JSON but is not one (exit 1: a finding)."""

    exit_code = ExitCode.FINDINGS


def is_state_json(head: bytes) -> bool:
    """True for the start of what ``airgap state --format json`` writes."""
    text = head.lstrip()
    return text.startswith(b"{") and b'"airgap"' in text[:200] and _PREFIX in text[:400]


def is_state_file(path: str) -> bool:
    """A file on disk that holds what ``airgap state --format json`` writes."""
    try:
        with open_regular(Path(path)) as handle:
            return is_state_json(handle.read(400))
    except OSError:
        return False  # whoever reads it names the problem


def holds_states(item: Item, data: bytes | None = None) -> bool:
    """A file (or archive member) met while walking, named ``*.json``, that holds what
    ``airgap state --format json`` writes: another site's states, even when the walk's sniff
    took its head for a capture's (a capture's words in it). Its bytes are ``data`` when read
    already, else the item's, else looked at on disk."""
    if not item.name.lower().endswith(".json"):
        return False
    head = data if data is not None else item.data
    if head is None:
        return len(item.parts) == 1 and is_state_file(item.parts[0])
    return is_state_json(head[:400])


def read(data: bytes, path: str) -> list[DeviceState]:
    """Every state in a state JSON file; StateFileError when it is not one."""
    import orjson

    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StateFileError("not airgap state JSON", path, f"not JSON: {exc}") from None
    if (
        not isinstance(doc, dict)
        or doc.get("command") != "state"
        or not isinstance(doc.get("results"), list)
    ):
        raise StateFileError(
            "not airgap state JSON", path, "expected the envelope of 'airgap state --format json'"
        )
    return [state(item, path) for item in doc["results"] if isinstance(item, dict)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stamp(data: dict[str, Any], name: str) -> Stamp | None:
    raw, iso = _text(data.get(f"{name}_raw")), _text(data.get(name))
    return Stamp(raw, iso) if raw is not None else None


def _udi(value: Any) -> Udi | None:
    if isinstance(value, dict) and _text(value.get("pid")) and _text(value.get("sn")):
        return Udi(value["pid"], value["sn"])
    return None


def _list(value: Any, read_one: Callable[[dict[str, Any]], T | None]) -> tuple[T, ...]:
    if not isinstance(value, list):
        return ()
    found = (read_one(item) for item in value if isinstance(item, dict))
    return tuple(item for item in found if item is not None)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def state(data: dict[str, Any], path: str) -> DeviceState:
    """One state from its JSON form; ``path`` is kept as ``file#capture`` for the evidence."""
    account, transport = _dict(data.get("account")), _dict(data.get("transport"))
    usage = data.get("usage_reporting")
    none_raw = {
        f"{part}.{key.removesuffix('_raw')}": raw
        for part, values in (("account", account), ("transport", transport))
        for key, raw in values.items()
        if key.endswith("_raw") and _text(raw)
    }
    shown = data.get("shown")
    origin = _text(data.get("path"))
    return DeviceState(
        kind=_text(data.get("kind")) or "unknown",
        path=f"{path}#{origin}" if origin else path,
        udi=_udi(data.get("udi")),
        udi_source=_text(data.get("udi_source")),
        hostname=_text(data.get("hostname")),
        smart_account=_text(account.get("smart_account")),
        virtual_account=_text(account.get("virtual_account")),
        data_privacy=_dict(data.get("data_privacy")),
        policy=_policy(data.get("policy")),
        transport_type=_text(transport.get("type")),
        transport_url=_text(transport.get("url")),
        usage_reporting=_usage(usage) if isinstance(usage, dict) else None,
        trust_codes=_list(
            data.get("trust_codes"),
            lambda t: TrustCode(
                _udi(t.get("udi")), _text(t.get("role")), _stamp(t, "installed_on")
            ),
        ),
        licenses=_list(data.get("licenses"), _license),
        reports=_list(
            data.get("reports"),
            lambda r: (
                Report(
                    r["id"], _text(r.get("state")), _text(r.get("flag")), _text(r.get("feature"))
                )
                if _int(r.get("id")) is not None
                else None
            ),
        ),
        history=_list(
            data.get("history"),
            lambda h: HistoryEntry(
                _text(h.get("category")),
                _text(h.get("message")) or "",
                _stamp(h, "time"),
                _text(h.get("meaning")),
            ),
        ),
        authorizations=_list(
            data.get("authorizations"),
            lambda a: Authorization(
                _udi(a.get("udi")),
                _text(a.get("role")),
                _text(a.get("status")),
                _text(a.get("confirmation_code")),
            ),
        ),
        report_summary={
            k: v for k, v in _dict(data.get("report_summary")).items() if _int(v) is not None
        },
        forwarder={k: v for k, v in _dict(data.get("forwarder")).items() if isinstance(v, bool)},
        clock=_stamp(data, "clock"),
        clock_source=_text(data.get("clock_source")),
        collected={k: v for k, v in _dict(data.get("collected")).items() if _text(v)},
        none_raw=none_raw,
        shown=frozenset(p for p in shown if p in PARTS) if isinstance(shown, list) else frozenset(),
    )


def _policy(value: Any) -> Policy | None:
    if not isinstance(value, dict):
        return None
    attributes = {}
    for kind, terms in _dict(value.get("attributes")).items():
        if isinstance(terms, dict):
            attributes[kind] = PolicyAttributes(
                _int(terms.get("first_report_days")),
                _int(terms.get("reporting_frequency_days")),
                _int(terms.get("report_on_change_days")),
                _text(terms.get("source")),
            )
    ack = value.get("ack_required")
    return Policy(
        _text(value.get("name")),
        _stamp(value, "installed_on"),
        ack if isinstance(ack, bool) else None,
        attributes,
    )


def _usage(value: dict[str, Any]) -> UsageReporting:
    return UsageReporting(
        _stamp(value, "last_ack_received"),
        _stamp(value, "next_ack_deadline"),
        _stamp(value, "last_report_push"),
        _stamp(value, "next_report_push"),
        _int(value.get("reporting_push_interval_days")),
        _stamp(value, "last_report_file_write"),
        _stamp(value, "next_ack_push_check"),
    )


def _license(value: dict[str, Any]) -> License | None:
    name = _text(value.get("name"))
    if name is None:
        return None
    return License(
        name,
        _text(value.get("entitlement_tag")),
        _int(value.get("count")),
        _text(value.get("status")),
        _text(value.get("enforcement")),
        _text(value.get("export_status")),
    )
