"""``python -m airgap``: the same entry point as the ``airgap`` console script."""

from airgap.cli.main import main

main()
