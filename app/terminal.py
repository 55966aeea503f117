"""Text from other people made safe to print on a terminal.

A contact chooses their display name, message text and picture file names. Printed raw, an ESC
sequence rewrites the user's terminal (colours, cursor moves, a window title, on some terminals
worse), ``\\r`` or a backspace overwrites what is already on the line so a forged line appears,
and a tab forges a field in the CLI's tab-separated output. ``printable`` therefore shows every
control character as a visible escape (``\\x1b``, ``\\r``, ``\\t``, ``\\u202e``): the C0 set, DEL,
the C1 set (U+0080..U+009F, which some terminals obey like ESC sequences) and the invisible
Unicode format characters that reorder or hide text (bidirectional overrides and isolates,
zero-width characters). A newline becomes a space so one message stays one line. The CLI's
``--json`` output is exact instead: JSON escapes control characters itself.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\r": "\\r", "\t": "\\t", "\b": "\\b", "\x1b": "\\x1b"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(char: str) -> bool:
    # Cc: C0, DEL and C1 controls; Cf: format characters (bidi overrides, zero-width joiners...);
    # Cs: lone surrogates (bytes that were not UTF-8), which cannot be written to stdout at all;
    # Zl/Zp: the Unicode line and paragraph separators, which some terminals break lines on.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def printable(text: str) -> str:
    """``text`` on one line with every control or format character shown as an escape."""
    text = text.replace("\r\n", "\n").replace("\n", " ")
    if text.isprintable():  # the common case: nothing to escape (a space is printable)
        return text
    return "".join(_escape(c) if _unsafe(c) else c for c in text)
