"""Names that come from outside (file names on disk, archive member names, anything a medium
holds) made safe to show and to write.

A name on a Linux file system is bytes: Python hands over the bytes that are not UTF-8 as lone
surrogates, which no UTF-8 writer accepts, and a name may hold control characters, an escape
sequence that rewrites the operator's screen (``\\x1b[2K``) or a bidi override that shows
``gpj.exe`` as ``exe.jpg``. :func:`escaped` writes every such character as a backslash escape,
so a name reads the same on a terminal, in JSON, SARIF, JUnit, a ledger entry or a signature's
trusted comment, and no name can pass for another line of output.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the bidi marks, embeddings, overrides and isolates, the line and
# paragraph separators, and every surrogate (undecodable bytes arrive as U+DC80..U+DCFF).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as the file system has it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escaped(name: str) -> str:
    """``name`` with every control character, bidi control and byte that is not UTF-8 written
    as ``\\xNN`` or ``\\uNNNN``; a name without any comes back as it is (the common case costs
    one scan)."""
    if _UNSAFE.search(name) is None:
        return name
    return _UNSAFE.sub(_escape, name)


def raw(name: str) -> bytes:
    """The bytes of a file name as the file system has them (a URI quotes these); a name no
    file system could have gives its escaped form."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return escaped(name).encode()


def plural(count: int, word: str, words: str = "") -> str:
    """``1 error``, ``2 errors``; ``words`` for a plural that is not ``word + "s"``."""
    return f"{count} {word if count == 1 else words or word + 's'}"
