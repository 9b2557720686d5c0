"""Device state from ``show license`` captures (groundwork: the section parser).

``sections`` turns any ``show license`` capture into a tree of labelled lines by indentation,
keeping every line it does not understand. The state model, ``diff``, ``reconcile`` and
``deadlines`` are not built yet; there is no ``airgap state`` command.
"""
