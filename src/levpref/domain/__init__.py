"""The pure domain: instruments, collateral, positions, the margin schedule and the margin decision.

No clock, no I/O, no logging; Decimal only. Imports only the standard library and ``levpref.errors``.
"""
