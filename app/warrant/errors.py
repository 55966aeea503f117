"""Exceptions raised by parley.app.warrant. Each message is one sentence naming what is missing.

Exception tree::

    WarrantError             base of everything raised here (the command prints it and exits 1)
    +-- LogError             the audit log cannot be read, appended to, or does not verify
    +-- ParamsError          authority, trustee or warrant files that cannot be used
    +-- Refused              a role refuses a request (trustee, agency, CSP); says what was missing
"""


class WarrantError(Exception):
    """Base class of every error raised by parley.app.warrant."""


class LogError(WarrantError):
    """The audit log cannot be read or appended to, or fails verification."""


class ParamsError(WarrantError):
    """An authority, trustee, warrant or capture file that cannot be used."""


class Refused(WarrantError):
    """A trustee, the agency or the CSP refuses: the message names what was missing."""
