"""Duplicates and golden records (the use cases over ``custmaster.matching``, the pure
matching engine): the online match index, online matching (``POST /match``), the batch
run and its review queue, merge and unmerge with survivorship rules, cross-references.

Named ``dedup`` so that "matching" names one package only: ``custmaster.matching``."""
