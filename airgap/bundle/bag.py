"""The transfer bundle's bag: a strict BagIt 1.0 bag (RFC 8493) and nothing else.

A bag is a folder named after the bundle id holding exactly the tag files below and the
payload under ``data/``. ``tagmanifest-sha256.txt.minisig`` (the inner signature) is the only
file the tag manifest does not list. Names are UTF-8, free of control characters and ``%``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

BAGIT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
VERIFY = "VERIFY.txt"
CHECKPOINT = "airgap-checkpoint.txt"
INNER_SIGNATURE = "tagmanifest-sha256.txt.minisig"
TAG_FILES = (BAGIT, BAG_INFO, MANIFEST, VERIFY, CHECKPOINT)  # listed in the tag manifest
ALL_TAG_FILES = (*TAG_FILES, TAG_MANIFEST, INNER_SIGNATURE)
DATA = "data/"

BUNDLE_CTX = "airgap-bundle/v1"  # outer signature: the archive bytes
BAG_CTX = "airgap-bag/v1"  # inner signature: the tag manifest


class Direction(StrEnum):
    """Which way a bundle crosses: usage out to CSSM, or ACKs back in."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


DIRECTIONS = tuple(d.value for d in Direction)

BAGIT_TEXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f%\\]")
_LINE = re.compile(r"(?P<digest>[0-9a-f]{64}) [ *](?P<path>.+)")
_PART_ID = re.compile(r"(?P<group>.+)-(?P<part>[1-9][0-9]*)of(?P<parts>[1-9][0-9]*)")


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def bad_name(name: str) -> str | None:
    """Why a payload name cannot go in a bag, or None when it can."""
    if _BAD_NAME.search(name):
        return "control characters, '%' or '\\' in the name"
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return "not a plain relative name"
    return None


def part_id(group_id: str, part: int, parts: int) -> str:
    """The bundle id of one part of a split bundle; a bundle not split has its group's id."""
    return group_id if parts == 1 else f"{group_id}-{part}of{parts}"


def part_of(bundle_id: str) -> tuple[str, int, int]:
    """(group id, part, parts) a bundle id names; a bundle not split is part 1 of 1."""
    match = _PART_ID.fullmatch(bundle_id)
    if match is None or int(match["part"]) > int(match["parts"]) or match["parts"] == "1":
        return bundle_id, 1, 1
    return match["group"], int(match["part"]), int(match["parts"])


def manifest_text(digests: Mapping[str, str]) -> str:
    """Manifest lines ``<sha256>  <path>``, sorted by path, as ``sha256sum`` writes them."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(digests.items()))


def parse_manifest(text: str) -> tuple[dict[str, str], list[str]]:
    """A manifest's path -> digest, and the lines that are not manifest lines."""
    digests: dict[str, str] = {}
    bad = []
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match is None or match["path"] in digests:
            bad.append(line)
        else:
            digests[match["path"]] = match["digest"]
    return digests, bad


def parse_info(text: str) -> dict[str, str]:
    """``bag-info.txt`` fields (one line each; airgap writes no continuation lines)."""
    info = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            info[name.strip()] = value.strip()
    return info


@dataclass(frozen=True)
class BagInfo:
    """What ``bag-info.txt`` says about a bag."""

    bundle_id: str
    group_id: str
    part: int
    parts: int
    direction: str
    answers: str | None
    bagging_date: str
    payload_bytes: int
    payload_files: int
    contents: str

    def text(self, version: str) -> str:
        """The file's content."""
        lines = [
            f"Payload-Oxum: {self.payload_bytes}.{self.payload_files}",
            f"Bagging-Date: {self.bagging_date}",
            f"Bag-Group-Identifier: {self.group_id}",
            f"Bag-Count: {self.part} of {self.parts}",
            f"Bag-Software-Agent: airgap {version}",
            f"Airgap-Bundle-Id: {self.bundle_id}",
            f"Airgap-Direction: {self.direction}",
        ]
        if self.answers:
            lines.append(f"Airgap-Answers: {self.answers}")
        lines.append(f"Airgap-Contents: {self.contents}")
        return "\n".join(lines) + "\n"


def verify_text(bundle_id: str, archive_name: str) -> str:
    """``VERIFY.txt``: how to check the bundle with stock tools, no airgap needed."""
    return f"""How to check bundle {bundle_id} without airgap
=================================================

1. The signature over the archive (minisign, https://jedisct1.github.io/minisign/):

     minisign -Vm {archive_name} -p SENDER.pub

   The trusted comment it prints names this bundle: bundle:{bundle_id}

2. Unpack the archive, then in the folder {bundle_id}/ check every file:

   Linux:
     sha256sum -c --strict tagmanifest-sha256.txt manifest-sha256.txt

   Windows PowerShell, for each line "<hash>  <file>" of both manifests:
     Get-Content manifest-sha256.txt, tagmanifest-sha256.txt | ForEach-Object {{
       $hash, $file = $_ -split '  ', 2
       if ((Get-FileHash -Algorithm SHA256 $file).Hash -ne $hash.ToUpper()) {{ "BAD $file" }}
     }}

   No line may be missing or extra: the folder holds exactly the files the two manifests
   list, plus {INNER_SIGNATURE} (the sender's signature over the tag manifest):

     minisign -Vm tagmanifest-sha256.txt -p SENDER.pub

3. This folder is a BagIt 1.0 bag (RFC 8493); any BagIt validator accepts it.
"""
