"""Device state from ``show license`` captures.

Start with ``model`` (``DeviceState``, the JSON shape of ``airgap state``) and ``parse``
(``parse_capture``: one state per command a capture holds). ``times`` reads the device's times
(and ``--tz LABEL=OFFSET``); ``sections`` turns output into a tree of labelled lines by
indentation; ``parse_blocks`` reads its labelled blocks. Diff, reconcile and deadlines build on
this model.
"""
