"""Validation: hardened parse, XSD, JSON Schema and semantic rules with stable ids.

``rules`` lists every rule; ``engine`` applies them to files and across files; ``checks``
holds the semantic rules, each a small function over the readers' models.
"""
