"""Experiments that reproduce published figures: a compute function returning a frozen
result, a plot function writing a PNG, and a CLI entry in :mod:`deeptheory.cli`."""
