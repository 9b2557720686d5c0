"""Pieces every reader shares: the device identity (UDI) and JSON embedded in XML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson


@dataclass(frozen=True, order=True, slots=True)
class Udi:
    """A device's unique device identifier: product id and serial number."""

    pid: str
    sn: str

    def __str__(self) -> str:
        return f"PID:{self.pid},SN:{self.sn}"

    def to_dict(self) -> dict[str, str]:
        """The JSON form used in every airgap output."""
        return {"pid": self.pid, "sn": self.sn}

    @classmethod
    def from_sudi(cls, sudi: Any) -> Udi | None:
        """Read ``{"udi_pid": ..., "udi_serial_number": ...}`` as Cisco's JSON writes it."""
        if not isinstance(sudi, dict):
            return None
        pid, sn = sudi.get("udi_pid"), sudi.get("udi_serial_number")
        if isinstance(pid, str) and isinstance(sn, str):
            return cls(pid, sn)
        return None


class EmbeddedJson(NamedTuple):
    """JSON text found inside an XML element, with what it decoded to or why it did not.

    ``text`` is kept exactly as the element held it; nothing is re-serialised. Immutable: a
    NamedTuple rather than a frozen dataclass, which takes twice as long to build, and every
    RUM report holds two.
    """

    text: str
    line: int
    value: Any = None
    error: str | None = None

    @classmethod
    def decode(cls, text: str, line: int) -> EmbeddedJson:
        """Decode ``text`` as strict RFC 8259 JSON (orjson: no NaN or Infinity; integers beyond
        64 bits become floats); a syntax error is recorded, not raised."""
        try:
            return cls(text, line, orjson.loads(text))
        except ValueError as exc:
            return cls(text, line, None, str(exc))
        except RecursionError:
            return cls(text, line, None, "JSON nested too deeply")

    @property
    def ok(self) -> bool:
        """True when the text decoded."""
        return self.error is None


def dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...``, or None when any step is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def find_key(value: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere inside nested JSON, depth first."""
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if key in item:
                found.append(item[key])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def element_text(element: Any) -> str:
    """The text of an lxml element (CDATA included), '' when it has none."""
    text = element.text
    return text if isinstance(text, str) else ""
