"""Errors of the warrant workflow, each with a message written for the person who reads it."""

from __future__ import annotations

from parley.app.errors import AppError


class WarrantError(AppError):
    """An authority file, share file or warrant operation was refused."""
