"""The workflows: what each command does, in which order, and what it records, over the core
packages below. The only core layer that reads settings (``airgap.config``) on behalf of a
workflow; commands in ``airgap.cli`` parse flags, call one of these functions and hand the
typed result to their reporter, and devices, tests and other workflows call them alike."""
