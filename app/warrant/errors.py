"""Errors of the warrant workflow, each with a message written for the person who reads it.

Exception tree::

    WarrantError (an AppError)  an authority file, share file or warrant operation was refused
    +-- LogError                the audit log cannot be read, appended to, or does not verify
    +-- ParamsError             warrant, trustee, request or capture files that cannot be used
    +-- Refused                 a role refuses (trustee, agency, CSP); says what was missing
"""

from __future__ import annotations

from parley.app.errors import AppError


class WarrantError(AppError):
    """An authority file, share file or warrant operation was refused."""


class LogError(WarrantError):
    """The audit log cannot be read or appended to, or fails verification."""


class ParamsError(WarrantError):
    """A warrant, trustee, request or capture file that cannot be used."""


class Refused(WarrantError):
    """A trustee, the agency or the CSP refuses: the message names what was missing."""


def clause(exc: BaseException, *, lower: bool = False) -> str:
    """An exception's sentence as a clause (no final full stop), so that a refusal that quotes
    another error stays one sentence."""
    text = str(exc).strip().rstrip(".")
    return text[:1].lower() + text[1:] if lower and text[1:2].islower() else text


def sentence(exc: BaseException) -> str:
    """Another layer's error as one sentence of ours (capitalised, one final full stop)."""
    text = clause(exc)
    return text[:1].upper() + text[1:] + "."
