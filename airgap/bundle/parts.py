"""Split bundles: which parts belong together, and whether the parts given are every part.

A bundle split by ``bundle create --max-size`` is several whole bags of one group
(``Bag-Group-Identifier``), each ``Bag-Count: K of N`` and named ``OUT.partKofN.<archive>``.
Each part verifies alone; parts given together must be every part of one split bundle.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

from airgap.bundle import bag
from airgap.bundle.create import sibling_part
from airgap.bundle.verify import Verified
from airgap.errors import ExitCode


class Missing(NamedTuple):
    """A part not given: its number, bundle id and (when known) the file name it was made as."""

    part: int
    bundle_id: str
    file: str | None

    def text(self) -> str:
        """``part 2 of 3 is missing: bundle <id>, file <name>``, without what is unknown."""
        return f"bundle {self.bundle_id}" + (f", file {self.file}" if self.file else "")


def missing_parts(
    group_id: str, parts: int, present: Collection[int], signed_as: str
) -> list[Missing]:
    """The parts of ``group_id`` not in ``present``, named after a present part's file name
    ``signed_as`` (the name its signature was made for)."""
    return [
        Missing(k, bag.part_id(group_id, k, parts), sibling_part(signed_as, k, parts))
        for k in range(1, parts + 1)
        if k not in present
    ]


def check_groups(results: Sequence[Verified]) -> None:
    """Bundles given together: each split bundle among them whole (every part once, all
    signed by one key), and parts of no two split bundles mixed. One bundle given alone
    verifies alone (DESIGN.md: each part of a split bundle is a whole bag)."""
    if len(results) < 2:
        return
    groups: dict[str, list[Verified]] = {}
    for result in results:
        if result.part is not None and result.part[2] > 1:
            groups.setdefault(result.part[0], []).append(result)
    if len(groups) > 1:
        names = ", ".join(sorted(groups))
        for members in groups.values():
            for member in members:
                member.problem(
                    ExitCode.TRUST,
                    f"parts of different split bundles given "
                    f"together (groups {names}): verify one split "
                    "bundle at a time",
                )
    for group, members in groups.items():
        _check_group(group, members)


def _check_group(group: str, members: list[Verified]) -> None:
    """Every part of one split bundle, once, signed by one key; a missing part is named by its
    bundle id and the file name it was made as."""
    first = members[0]
    totals = {m.part[2] for m in members if m.part}
    if len(totals) != 1:
        first.problem(ExitCode.TRUST, f"group {group}: parts disagree on Bag-Count")
        return
    (total,) = totals
    signers = sorted({str(m.signer.get("key_id")) for m in members})
    if len(signers) > 1:
        first.problem(
            ExitCode.TRUST, f"group {group}: parts signed by different keys ({', '.join(signers)})"
        )
    seen: dict[int, int] = {}
    for member in members:
        if member.part:
            seen[member.part[1]] = seen.get(member.part[1], 0) + 1
    for part in sorted(p for p, n in seen.items() if n > 1):
        first.problem(
            ExitCode.TRUST, f"group {group}: part {part} of {total} given {seen[part]} times"
        )
    for missing in missing_parts(group, total, seen, first.fields.get("file", "")):
        first.problem(
            ExitCode.TRUST,
            f"group {group}: part {missing.part} of {total} is missing: {missing.text()}",
        )
