"""The data contract and the rules every other room obeys: the responses files and their schema
(:mod:`~cx.core.data`), the one geography restriction (:mod:`~cx.core.scope`), shared filters,
metric expressions, the organisation, users and the role table, the PII masker, the escaper,
display labels, map data and the per-language text catalog. Imports nothing else of ``cx``."""
