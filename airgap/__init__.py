"""airgap: move Cisco Smart Licensing files across an air gap, safely and on the record.

Where to start reading:

- ``airgap.errors``: the exception tree and the exit codes every command returns.
- ``airgap.xml``: the one hardened XML parser and the schemas shipped with the package.
- ``airgap.formats``: readers for each kind of licensing file (usage, import, SLAC request,
  ``show license`` captures) and kind detection from content.
- ``airgap.validate``: the rules (stable ids and levels) and the engine that applies them.
- ``airgap.cli``: the only package that talks to the terminal; one module per command group.
"""

__version__ = "0.1.0"
