"""Every validation rule: a stable id, a default level and what it means.

Rule ids are a public interface: they appear in output, in ``airgap.toml`` rule levels and in
the file names of ``samples/invalid/`` and ``samples/warnings/``. Never rename one; retire it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airgap.findings import Level

# The smart account domain of every ACK the lab CSSM makes: the mark the simulated-ack rule
# looks for. Defined here, below the lab that writes it, so validation never imports the lab.
LAB_DOMAIN = "lab.airgap.invalid"


@dataclass(frozen=True)
class Rule:
    """A validation rule: its id, default level, one-line summary and help for the user."""

    id: str
    level: Level
    summary: str
    help: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``airgap rules``."""
        return {
            "id": self.id,
            "level": self.level.value,
            "summary": self.summary,
            "help": self.help,
        }


E, W = Level.ERROR, Level.WARNING
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "empty-file",
            E,
            "the file is empty",
            "A device or a copy step wrote nothing. Save the file again on the device.",
        ),
        Rule(
            "not-xml",
            E,
            "the file is not well-formed XML",
            "Truncated, corrupted, not a licensing file, or beyond the parser's depth and size "
            "limits. Copy the file again from its source.",
        ),
        Rule(
            "doctype",
            E,
            "the document declares a DOCTYPE",
            "Cisco licensing files never carry one. DTDs and entities are never processed, so the "
            "file is refused rather than read.",
        ),
        Rule(
            "encoding",
            E,
            "the file is UTF-16 or UTF-32, not UTF-8",
            "Devices write UTF-8 and CSSM checks the bytes as signed; a file re-encoded on the "
            "way (an editor, a Windows copy step) is refused. Copy the file again from its source.",
        ),
        Rule(
            "unknown-root",
            E,
            "the root element is not one airgap knows",
            "Usage, import and SLAC request files have root <smartLicense>; a policy file "
            "<smartLicensePolicy>; a report fragment <RUMReport>. A <smartLicense> holding only "
            "foreign or XInclude elements is no licensing file either.",
        ),
        Rule(
            "xml-schema",
            E,
            "the XML breaks its XSD",
            "An element is missing, misplaced or malformed (schemas/*.xsd).",
        ),
        Rule(
            "json-syntax",
            E,
            "embedded JSON does not decode",
            "A RUM report's envelope or payload, system info, SLAC request or RUM ACK data is not "
            "valid JSON. An edited or truncated report is rejected by CSSM.",
        ),
        Rule(
            "json-schema",
            E,
            "embedded JSON breaks its JSON Schema",
            "A required field is missing or has the wrong type (schemas/*.schema.json). Only the "
            "first violation of each JSON document is reported.",
        ),
        Rule(
            "json-duplicate-key",
            E,
            "embedded JSON repeats a key within one object",
            "RFC 7493 (I-JSON) forbids it: readers differ on which value counts (airgap's keeps "
            "the last, others the first), so a second hostname, payload or sudi would show a "
            "check another document than the one that crosses.",
        ),
        Rule(
            "json-markup",
            E,
            "a comment or processing instruction inside an element holding JSON",
            "Devices and CSSM never write one inside <RUMReport> or <data>; readers differ on "
            "whether the text around it is one JSON document, so the file is refused.",
        ),
        Rule(
            "report-id",
            E,
            "a report id is not a whole number from 0 to 2^64-1",
            "Devices write report ids as plain integers: 1696420871.0, 1.696420871e9, negative "
            "ids or ids beyond 64 bits are no device's, and would escape the duplicate check.",
        ),
        Rule(
            "sudi-mismatch",
            E,
            "the envelope's signing sudi differs from the payload's device",
            "signature.sudi must equal asset_identification.instance.sudi; a report moved between "
            "devices or edited by hand.",
        ),
        Rule(
            "duplicate-report",
            E,
            "the same (UDI, report id) appears twice",
            "In one file or across the files given. CSSM refuses a report already uploaded; send "
            "each report once.",
        ),
        Rule(
            "start-after-end",
            E,
            "a measurement starts after it ends",
            "start_time must not be later than end_time.",
        ),
        Rule(
            "signature-value",
            E,
            "the envelope's signature value is not base64 of 32 bytes",
            "Devices sign with a 32-byte value; anything else was damaged or forged.",
        ),
        Rule(
            "sample-interval",
            W,
            "sample_interval differs from end_time - start_time",
            "Every sample seen so far has them equal; a difference hints at an edited report.",
        ),
        Rule(
            "hostname-present",
            W,
            "an outbound file carries a hostname",
            "Site data would leave the network. Set 'no license smart privacy hostname' on the "
            "device or use --privacy strict to make this an error.",
        ),
        Rule(
            "unknown-part",
            W,
            "an import file holds a part airgap does not know",
            "Kept as it is; its meaning is not public. The device may still accept it.",
        ),
        Rule(
            "simulated-ack",
            E,
            "the import file is a simulated ACK from airgap's lab",
            "Made by 'airgap lab cssm' for training and tests, signed by the lab key; a device "
            "must never import it. Pass --lab to validate lab output on purpose.",
        ),
        Rule(
            "rum-fragment",
            W,
            "a bare <RUMReport> element, not a whole usage file",
            "Checked as if wrapped in <smartLicense>; CSSM expects the whole usage file.",
        ),
        Rule(
            "no-reports",
            W,
            "a usage file holds no RUM report",
            "Nothing to upload; check the 'license smart save usage' options used.",
        ),
        Rule(
            "payload-version",
            W,
            "the payload declares a layout version airgap does not know",
            "Checked against the newest known layout (2.0).",
        ),
    )
}


def rule(rule_id: str) -> Rule:
    """The rule with this id (KeyError for an unknown id: a bug in the caller)."""
    return RULES[rule_id]
