"""Reproducible measurements of atlas, printed as tables: ``nox -s bench`` (``-- --quick``).

Every figure is the median of several runs; every ratio is taken within one run (atlas and
the library it is compared with, back to back against fresh emulators) before the median, so a
noisy machine moves both sides of a ratio together. Nothing leaves 127.0.0.1. See README.md.
"""
