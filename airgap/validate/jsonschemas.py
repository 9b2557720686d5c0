"""The JSON Schemas for JSON embedded in licensing XML, compiled once per process.

jsonschema-rs validates a decoded RUM payload in a few microseconds, fast enough for 100,000
payloads on a jump host (benchmarks/validate.py).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from airgap.errors import InputError
from airgap.xml import schema_dir

if TYPE_CHECKING:
    import jsonschema_rs

ENVELOPE = "rum-envelope.schema.json"
PAYLOAD_V1 = "rum-payload-v1.schema.json"
PAYLOAD_V2 = "rum-payload-v2.schema.json"
SYSTEM_INFO = "system-info.schema.json"
SLAC_REQUEST_DATA = "slac-request-data.schema.json"
ALL = (ENVELOPE, PAYLOAD_V1, PAYLOAD_V2, SYSTEM_INFO, SLAC_REQUEST_DATA)


@functools.cache
def _compiled(name: str) -> jsonschema_rs.Validator:
    import jsonschema_rs

    path = schema_dir() / name
    try:
        return jsonschema_rs.validator_for(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise InputError("cannot load schema", path, " ".join(str(exc).split())) from None


def violation(name: str, value: Any) -> str | None:
    """The first way ``value`` breaks schema ``name``, or None when it conforms."""
    validator = _compiled(name)
    if validator.is_valid(value):
        return None
    error = next(iter(validator.iter_errors(value)))
    where = ".".join(str(part) for part in error.instance_path)
    return f"{where + ': ' if where else ''}{error.message} ({name})"
