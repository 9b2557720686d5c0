"""The command lines of a capture, found quickly, are those the patterns find on every line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from airgap.formats import showcli


def _every_line(lines: list[str]) -> list[tuple[int, str]]:
    """Each line's kind, no line left out first."""
    kinds = ((number, showcli._kind_of(line)) for number, line in enumerate(lines, start=1))
    return [(number, kind) for number, kind in kinds if kind is not None]


_PIECES = st.sampled_from(
    [" ", "\t", "\u00a0", "#", ">", "router", "r1(config)", "sh", "SH", "ſh", "show", "sho",
     " lic", " license", " LICENSE", " status", " summary", " rum id all", " rum id 12 detail",
     " udi", " logging", " log", " common-packet-forwarder st", " tech support", "x", "é"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=7).map("".join), max_size=10))
def test_the_command_lines_found_are_those_every_line_gives(lines: list[str]) -> None:
    assert showcli.commands_in_lines(lines) == _every_line(lines)
