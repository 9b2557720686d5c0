"""The audit ledger: who carried which file across the gap, when, and proof it was not altered.

``merkle`` is the RFC 9162 tree (hashes, inclusion and consistency proofs); ``note`` the C2SP
signed-note and tlog-checkpoint formats; ``store`` the JSON Lines file itself: appends under a
lock with fsync, verification, checkpoints, torn-tail repair.
"""
