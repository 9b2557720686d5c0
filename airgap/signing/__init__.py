"""Keys and detached signatures in minisign's formats, and the trusted keys with their roster.

``minisign`` reads and writes minisign's key and signature files (Ed25519; signatures of the
prehashed ``ED`` kind, legacy ``Ed`` ones verified too). ``trust`` keeps the trusted-keys folder,
the roster (who holds each key, in which role, revoked or not) and the host key.
"""
