"""Matching and golden records: the online match index, online matching, the batch
run and its review queue, merge and unmerge with survivorship rules, cross-references.

One module per use case; ``custmaster.matching`` holds the pure engine they call."""
