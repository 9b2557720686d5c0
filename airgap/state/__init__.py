"""Device state from ``show license`` captures, and what follows from it.

Start with ``model`` (``DeviceState``, the JSON shape of ``airgap state``) and ``parse``
(``parse_capture``: one state per command a capture holds). ``times`` reads the device's times
(and ``--tz LABEL=OFFSET``); ``sections`` turns output into a tree of labelled lines by
indentation; ``parse_blocks`` reads its labelled blocks. ``evidence`` reads captures, usage
files and ACKs from paths; ``devices`` groups captures into devices; ``diff``, ``reconcile``
and ``deadlines`` answer the operator's questions after an import.
"""
