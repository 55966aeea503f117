"""The messenger without its windows: accounts, the encrypted store, sessions, send and receive.

No Qt widgets live here; the desktop app (ui/) reaches this package through one bridge object.
"""
