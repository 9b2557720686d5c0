"""CSLU-style upload archives and CSSM ACK archives: build them (``packer``), read them and
write their files out (``unpacker``); names, manifest and content (``layout``).

No real CSLU archive is public. The layout follows Cisco's published sample code
(CiscoDevNet/xe-sip-api-code, ``slp_api_sample.py``; FORMATS.md section 3, and
``field/ack/DERIVED_cslu_style_archive_layout.txt``)::

    UD_SA_<ts>.tar.gz                  upload: manifest.mf + one archive per virtual account
      manifest.mf                      JAR-manifest style "Key: value" lines
      UD_VA_<ts>.tar.gz
        dev_<n>_<ts>.txt               a usage file, byte for byte
    <answer>.tar.gz                    CSSM's answer
      ACK_UD_VA_<ts>.tar.gz
        ACK_dev_<n>_<ts>.txt           the ACK (import file) for that upload

``<ts>`` is ``YYMonDD_HH_MM_SS_mmm`` (English month, as the sample's ``%y%b%d_%H_%M_%S_%f``
writes it). Usage files are renamed ``dev_<n>_<ts>.txt`` as the sample names them (``n``
counts from 1 over the whole upload, virtual accounts in name order, files in name order; the
k-th virtual account's archive is stamped k milliseconds after the first so every name keeps
the pattern), or keep their own names with ``names="keep"``; their bytes never change. The
same inputs and time give the same bytes: fixed tar owner, mode and mtime, gzip mtime 0,
members in a fixed order (``manifest.mf`` first, then VA archives, then files as numbered).

Archives are read with :func:`airgap.archive.read_members` (an upload and the archives in it
in one walk, within one budget): in memory, regular files only; nothing is extracted until
:func:`write_unpacked` is asked to.
"""

from airgap.formats.cslu.layout import (
    ACK,
    MANIFEST,
    UPLOAD,
    Content,
    Manifest,
    ManifestEntry,
    classify,
    timestamp,
)
from airgap.formats.cslu.packer import (
    Input,
    Packed,
    PackedFile,
    ack_archive,
    ack_archive_name,
    build,
    pack,
    read_accounts,
    tar_gz,
)
from airgap.formats.cslu.unpacker import (
    Unpacked,
    UnpackedFile,
    detect,
    from_members,
    target_path,
    unpack,
    write_unpacked,
)

__all__ = [
    "ACK",
    "MANIFEST",
    "UPLOAD",
    "Content",
    "Input",
    "Manifest",
    "ManifestEntry",
    "Packed",
    "PackedFile",
    "Unpacked",
    "UnpackedFile",
    "ack_archive",
    "ack_archive_name",
    "build",
    "classify",
    "detect",
    "from_members",
    "pack",
    "read_accounts",
    "tar_gz",
    "target_path",
    "timestamp",
    "unpack",
    "write_unpacked",
]
