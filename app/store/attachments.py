"""Attachments: picture bytes, encrypted under their own key, kept as a blob in the database.

The ``content`` is the ciphertext exactly as it came over the wire (or as we sent it) and ``key``
its 32-byte key; the database itself is encrypted too, so the picture is doubly protected at rest.
Decryption and image checking belong to the messaging core, not the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import NotFound

_META = ("id", "mime_type", "size", "width", "height", "file_name", "created_at")
_COLUMNS = (*_META, "key", "content")


@dataclass(frozen=True, slots=True)
class AttachmentMeta:
    """What the UI shows about an attachment, without its bytes."""

    id: str
    mime_type: str
    size: int
    width: int
    height: int
    file_name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    meta: AttachmentMeta
    key: bytes = field(repr=False)
    content: bytes = field(repr=False)


def _meta(r: RowReader) -> AttachmentMeta:
    return AttachmentMeta(
        r.text("id"),
        r.text("mime_type"),
        r.integer("size"),
        r.integer("width"),
        r.integer("height"),
        r.text("file_name"),
        r.real("created_at"),
    )


def add(db: Database, row: AttachmentRow) -> None:
    """Store an attachment (before the message that refers to it)."""
    m = row.meta
    db.execute(
        "INSERT INTO attachments (id, mime_type, size, width, height, file_name, "
        "created_at, key, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            m.id,
            m.mime_type,
            m.size,
            m.width,
            m.height,
            m.file_name,
            m.created_at,
            row.key,
            row.content,
        ),
    )


def get_meta(db: Database, attachment_id: str) -> AttachmentMeta:
    """The attachment's metadata. Raises NotFound."""
    row = db.one(
        "SELECT id, mime_type, size, width, height, file_name, created_at FROM "
        "attachments WHERE id = ?",
        (attachment_id,),
    )
    if row is None:
        raise NotFound(f"No attachment {attachment_id!r}.")
    return _meta(RowReader("attachments", row, _META))


def get(db: Database, attachment_id: str) -> AttachmentRow:
    """The attachment with its key and encrypted bytes. Raises NotFound."""
    row = db.one(
        "SELECT id, mime_type, size, width, height, file_name, created_at, key, content "
        "FROM attachments WHERE id = ?",
        (attachment_id,),
    )
    if row is None:
        raise NotFound(f"No attachment {attachment_id!r}.")
    r = RowReader("attachments", row, _COLUMNS)
    return AttachmentRow(_meta(r), r.blob("key", 32), r.blob("content"))
