"""The JSON Schemas for JSON embedded in licensing XML, compiled to code once per process.

fastjsonschema turns each schema into a Python function, fast enough for 100,000 payloads.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from airgap.errors import InputError
from airgap.xml import schema_dir

ENVELOPE = "rum-envelope.schema.json"
PAYLOAD_V1 = "rum-payload-v1.schema.json"
PAYLOAD_V2 = "rum-payload-v2.schema.json"
SYSTEM_INFO = "system-info.schema.json"
SLAC_REQUEST_DATA = "slac-request-data.schema.json"
ALL = (ENVELOPE, PAYLOAD_V1, PAYLOAD_V2, SYSTEM_INFO, SLAC_REQUEST_DATA)


@functools.cache
def _compiled(name: str) -> Callable[[Any], Any]:
    import fastjsonschema

    path = schema_dir() / name
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        return fastjsonschema.compile(schema)
    except (OSError, ValueError, fastjsonschema.JsonSchemaDefinitionException) as exc:
        raise InputError("cannot load schema", path, str(exc)) from None


def violation(name: str, value: Any) -> str | None:
    """The first way ``value`` breaks schema ``name``, or None when it conforms."""
    import fastjsonschema

    try:
        _compiled(name)(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        return f"{exc.message} ({name})"
    return None
