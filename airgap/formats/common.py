"""Pieces every reader shares: the device identity (UDI) and a report's (``ReportKey``), JSON
embedded in XML, and the comments and processing instructions a document carries."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson


class PickledByCall:
    """A base for the frozen dataclasses that workers send back by the thousand (UDIs, ACK
    summaries): pickled as a call of the class on its fields, which unpickles in a third of
    the time of the state a slotted dataclass pickles by default."""

    __slots__ = ()

    def __reduce__(self) -> tuple[type[Any], tuple[Any, ...]]:
        return type(self), tuple(getattr(self, name) for name in self.__match_args__)

    __match_args__: tuple[str, ...] = ()  # the fields, in order: set by @dataclass


class _HashedOnce(PickledByCall):
    """A base that holds its hash, made once (not a field: no output or pickle shows it)."""

    __slots__ = ("_hash",)
    _hash: int


@dataclass(frozen=True, order=True, slots=True)
class Udi(_HashedOnce):
    """A device's unique device identifier: product id and serial number.

    Reports, ACKs and devices are looked up by UDI by the million at site scale: its hash is
    made once, when it is made or unpickled (a call of the class on its fields)."""

    pid: str
    sn: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.pid, self.sn)))

    def __hash__(self) -> int:
        return self._hash

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


# A usage report's identity: the device that measured it and its report id. A plain tuple, so
# that the indexes of reports at site scale stay cheap to build, hash and pickle.
ReportKey = tuple[Udi, int]


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
    repeated: str | None = None  # the first key an object holds twice (I-JSON forbids it)
    kept: bytes | None = None  # ``value`` as orjson writes it, when it is an object or array

    @classmethod
    def decode(cls, text: str, line: int) -> EmbeddedJson:
        """Decode ``text`` as strict RFC 8259 JSON (orjson: no NaN or Infinity; integers beyond
        64 bits become floats); a syntax error is recorded, not raised. ``value`` keeps the
        last of repeated keys, as orjson does; ``repeated`` names the first such key, since
        a reader that keeps the first would see another document."""
        try:
            value = orjson.loads(text)
        except ValueError as exc:
            return cls(text, line, None, str(exc))
        except RecursionError:
            return cls(text, line, None, "JSON nested too deeply")
        if not isinstance(value, dict | list):
            return cls(text, line, value)
        kept = _written(text, value)
        if kept is None or _may_repeat(text, kept):
            try:
                return cls(text, line, value, None, repeated_key(text), kept)
            except RecursionError:  # deeper than the json module reads: cannot be checked
                return cls(text, line, None, "JSON nested too deeply")
        return cls(text, line, value, None, None, kept)

    @staticmethod
    def value_of(text: str) -> Any:
        """What ``decode(text, line).value`` is, at a third of the cost, for a reader that
        needs the value alone (reconcile's report refs): no copy written back, no repeated
        key looked for. A text that may nest deeply goes the whole way, since there what
        orjson writes back and the json module's own depth can decide the value."""
        if text.count("{") + text.count("[") >= _SHALLOW:
            return EmbeddedJson.decode(text, 0).value
        try:
            return orjson.loads(text)
        except (ValueError, RecursionError):
            return None

    @property
    def ok(self) -> bool:
        """True when the text decoded."""
        return self.error is None

    def may_hold(self, key: str) -> bool:
        """False when no object of the document has ``key``: a look at bytes, before a walk.

        orjson writes every key as ``"key":``; a quote inside a string is ``\\"``, so a key
        cannot be seen where there is none, except inside a key holding ``"key``.
        """
        if self.kept is not None:
            return b'"%s":' % key.encode() in self.kept  # key: plain ASCII, as rule code names it
        return key in self.text or "\\" in self.text  # an escape could spell the key


# Fewer brackets than this: nested less deep than orjson writes back (254) or the json
# module reads, so ``decode`` finds what orjson finds.
_SHALLOW = 200


def _written(text: str, value: Any) -> bytes | None:
    """``value`` as orjson writes it: indented by two when ``text`` is (as devices write
    envelopes), else compact (as they write payloads); None when nested deeper than orjson
    writes (254)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if text.startswith("{\n") else None)
    except orjson.JSONEncodeError:
        return None


def _may_repeat(text: str, canonical: bytes) -> bool:
    """False when ``text`` surely holds no object with a repeated key, ``canonical`` being
    what orjson kept of it, written back (:func:`_written`).

    A text written as orjson writes (a device's payload or envelope) is the same bytes as what
    was kept: nothing was dropped. Otherwise two C-speed scans: outside strings, a colon in
    JSON text only ends a member's key; inside strings it is itself, unless escaped
    (``\\u003a``). orjson writes one colon per key it kept and the colons of its strings as they
    are, so the counts agree exactly when no member was dropped, unless an escaped colon makes
    up for one: only then, or when they differ, does :func:`repeated_key` read the text again.
    """
    written = text.strip() if text.startswith("{\n") else text
    if len(canonical) == len(written) and canonical == written.encode():
        return False
    return text.count(":") != canonical.count(b":") or ("\\" in text and "\\u003" in text)


def repeated_key(text: str) -> str | None:
    """The first key that one object of ``text`` holds twice, or None; ``text`` is valid JSON
    (RecursionError when it nests deeper than the json module reads)."""
    found: list[str] = []

    def members(pairs: list[tuple[str, Any]]) -> None:
        seen: set[str] = set()
        for key, _ in [] if found else pairs:
            if key in seen:
                found.append(key)
                return
            seen.add(key)

    json.loads(text, object_pairs_hook=members)
    return found[0] if found else None


def every_value(text: str, key: str) -> list[Any]:
    """Every value stored under ``key`` in JSON ``text``, repeated keys included (``find_key``
    over the decoded value sees only the last of them)."""
    found: list[Any] = []

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found.extend(value for name, value in pairs if name == key)
        return dict(pairs)

    json.loads(text, object_pairs_hook=members)
    return found


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
    """All the text of an lxml element itself (CDATA included), '' when it has none.

    A comment, processing instruction or child element splits an element's text;
    ``element.text`` is only the part before the first one, so the parts after each are read
    too: what is checked is what crosses. (A child element's own text is not the element's.)
    """
    if len(element):
        return (element.text or "") + "".join(child.tail or "" for child in element)
    text = element.text
    return text if isinstance(text, str) else ""


class Markup(NamedTuple):
    """A comment or processing instruction, and where it is."""

    what: str  # "comment" or "processing instruction"
    text: str  # a processing instruction's target and text
    line: int
    parent: str | None  # the element holding it; None outside the root element


def markup(root: Any) -> Iterator[Markup]:
    """Every comment and processing instruction of a parsed document, in document order; one
    at a time, since a hostile file may hold millions."""
    from lxml import etree

    nodes = itertools.chain(
        reversed(list(root.itersiblings(preceding=True))),
        root.iter(etree.Comment, etree.ProcessingInstruction),
        root.itersiblings(),
    )
    for node in nodes:
        if node.tag is etree.Comment:
            yield Markup("comment", node.text or "", node.sourceline or 0, _tag(node))
        elif node.tag is etree.ProcessingInstruction:
            yield Markup(
                "processing instruction",
                f"{node.target} {node.text or ''}".strip(),
                node.sourceline or 0,
                _tag(node),
            )


def _tag(node: Any) -> str | None:
    parent = node.getparent()
    return str(parent.tag) if parent is not None else None
