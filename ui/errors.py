"""Errors raised by the desktop app itself (the core's errors are app.errors.AppError).

Exception tree::

    UiError                      anything the desktop app refuses, with a message for a person
    ├── NotAnImage               a dropped, pasted or chosen file is not a picture we can show
    └── StartupFailed            the app could not start (no display, profile unusable, ...)
"""

from __future__ import annotations


class UiError(Exception):
    """Base class: ``str(error)`` is written to be shown to a person."""


class NotAnImage(UiError):
    """A file offered as a picture is not one Qt can read."""


class StartupFailed(UiError):
    """The app could not start; the message says what to do about it."""
