"""``show license`` output as a tree: sections by indentation, ``Label: value`` lines as leaves.

The commands print two-space indented blocks (``Usage Reporting:`` then ``  Last ACK
received: ...``); lines come and go between releases, so nothing here knows any label: the
tree keeps every line, in order, with its line number, and lookups name a path of labels.
Prompt lines, ``Load for five secs`` and ``Time source`` lines are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_NOISE = re.compile(r"^(Load for five secs:|Time source is |\S*[#>]\s*sh(ow)?\s)", re.I)
_UNDERLINE = re.compile(r"^[=\-]{3,}\s*$")
_LABEL = re.compile(r"^(?P<label>[^:]+?):(?:\s+(?P<value>.*\S))?\s*$")


@dataclass(slots=True)
class Node:
    """One line of output: a label and its value, or a bare text line, and what it holds."""

    label: str
    value: str | None
    line: int
    indent: int
    children: list[Node] = field(default_factory=list)

    def find(self, *path: str) -> Node | None:
        """The first node down ``path`` (labels compared without case), or None."""
        node: Node | None = self
        for label in path:
            if node is None:
                return None
            node = next((c for c in node.children if c.label.lower() == label.lower()), None)
        return node

    def value_at(self, *path: str) -> str | None:
        """The value down ``path``: its own value, or the text of its only bare child line."""
        node = self.find(*path)
        if node is None:
            return None
        if (
            node.value is None
            and len(node.children) == 1
            and node.children[0].value is None
            and not node.children[0].children
        ):
            return node.children[0].label
        return node.value

    def walk(self) -> Iterator[Node]:
        """Every node below, depth first, in output order."""
        for child in self.children:
            yield child
            yield from child.walk()


def parse(text: str) -> Node:
    """The tree of a capture; the root's children are the top-level sections."""
    return parse_lines(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def parse_lines(lines: list[str]) -> Node:
    """The tree of a capture already split into lines (line 1 is ``lines[0]``).

    Site health reads every line of 100,000 captures: a line's first character or a plain
    ``in`` test decides before any pattern runs (the patterns give the same answers), and
    the loop calls nothing per line but what makes its node."""
    root = Node("", None, 0, -1, [])
    stack = [root]
    top = root
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        first = stripped[0]
        if (first in "=-" and _UNDERLINE.match(stripped) is not None) or (
            (first in "LlTt" or "#" in stripped or ">" in stripped or not first.isascii())
            and _NOISE.match(stripped) is not None
        ):
            continue  # underlines, prompt lines and banners
        indent = len(raw) - len(raw.lstrip(" \t"))
        colon = stripped.find(":")  # "Label: value" as _LABEL reads it, else a bare line
        if colon > 0 and (colon + 1 == len(stripped) or stripped[colon + 1].isspace()):
            after = stripped[colon + 1 :].lstrip()
            node = Node(stripped[:colon].rstrip(), after or None, number, indent, [])
        else:
            node = Node(stripped, None, number, indent, [])
        while top.indent >= indent:
            stack.pop()
            top = stack[-1]
        top.children.append(node)
        stack.append(node)
        top = node
    return root
