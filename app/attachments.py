"""Picture checks: an image is an image because Pillow decodes it, never because of its name.

Sending: the file (at most ``MAX_INPUT_BYTES`` = 10 MiB) is opened with Pillow, ``verify()``-ed,
opened again and fully ``load()``-ed, with a pixel-count ceiling that stops decompression bombs
before any pixels are decoded. It is then RE-ENCODED, which is a deliberate privacy decision: the
re-encoded picture carries no EXIF (GPS position, camera serial, time), no ICC or text chunks,
and nothing smuggled after the image data. PNG and GIF stay PNG (lossless; an animated GIF keeps
its first frame), JPEG and WebP become JPEG. The result must fit one relay message
(``MAX_SENT_BYTES``, the relay's 256 KiB payload minus room for the envelope): larger pictures
are scaled down step by step (a PNG that is still too large becomes JPEG first), so a 10 MiB
photo arrives as a smaller but faithful picture.

Receiving: the decrypted bytes are decoded the same way (no re-encoding) and refused if they are
not a PNG/JPEG/GIF/WebP image or are larger than ``MAX_SENT_BYTES``.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from parley.app.errors import AppError, AttachmentRejected, DiskFull
from PIL import Image, UnidentifiedImageError

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_SENT_BYTES = 200 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
JPEG_QUALITY = 85
_SCALE_STEP = 0.75


@dataclass(frozen=True, slots=True)
class CheckedPicture:
    """A decoded, size-checked picture ready to encrypt (or to store, when received)."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int
    height: int
    file_name: str
    source_size: int = 0
    """The chosen file's size in bytes (0 for a received picture): the preview shows both."""


def _decode(data: bytes) -> Image.Image:
    """Open, verify and fully load ``data``; raise AttachmentRejected for anything else."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in FORMATS:
                    raise AttachmentRejected(
                        f"Pictures are PNG, JPEG, GIF or WebP; this is {probe.format or 'unknown'}."
                    )
                _check_size(probe.size)
                probe.verify()
            image = Image.open(io.BytesIO(data))
            _check_size(image.size)
            image.load()
            return image
    except AttachmentRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentRejected(
            f"This picture has too many pixels (the limit is {MAX_PIXELS:,})."
        ) from None
    except UnidentifiedImageError:
        raise AttachmentRejected("This file is not a picture Parley can show.") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise AttachmentRejected(f"This picture is damaged and cannot be decoded ({exc}).") from exc


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
        raise AttachmentRejected(f"A picture is 1 to {MAX_SIDE} pixels wide and high.")
    if width * height > MAX_PIXELS:
        raise AttachmentRejected(
            f"This picture has {width * height:,} pixels; the limit is {MAX_PIXELS:,}."
        )


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path``, refused if over ``limit``.

    It must be a regular file: ``/dev/zero`` would be read until memory runs out and a FIFO
    would block forever. It is opened non-blocking (opening a FIFO waits for a writer otherwise)
    and checked with ``fstat`` on the open descriptor, so a file swapped after a check is caught;
    at most ``limit + 1`` bytes are read, so a file that grows meanwhile is refused too.

    Raises:
        AttachmentRejected: missing, unreadable, not a regular file, or over ``limit``.
    """
    name = path.name or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise AttachmentRejected(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AttachmentRejected(f"{name} is not a regular file; pictures are files.")
        if info.st_size > limit:
            raise AttachmentRejected(
                f"{name} is {info.st_size / 1048576:.1f} MiB; pictures are at most "
                f"{limit / 1048576:g} MiB."
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise AttachmentRejected(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise AttachmentRejected(f"{name} is larger than {limit / 1048576:g} MiB.")
    return data


def prepare_picture(path: Path) -> CheckedPicture:
    """Read, decode, strip and (if needed) shrink the picture at ``path`` for sending.

    Raises:
        AttachmentRejected: missing, not a regular file, over 10 MiB, not a decodable image,
            or absurd dimensions.
    """
    data = read_limited(path, MAX_INPUT_BYTES)
    image = _decode(data)
    fmt = "PNG" if image.format in ("PNG", "GIF") else "JPEG"
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    encoded = _encode(image, fmt)
    while len(encoded) > MAX_SENT_BYTES:
        if fmt == "PNG":
            fmt = "JPEG"
        else:
            w, h = image.size
            if w < 64 or h < 64:
                raise AttachmentRejected("This picture cannot be made small enough to send.")
            image = image.resize((max(1, int(w * _SCALE_STEP)), max(1, int(h * _SCALE_STEP))))
        encoded = _encode(image, fmt)
    stem = path.stem[:200] or "picture"
    suffix = ".png" if fmt == "PNG" else ".jpg"
    return CheckedPicture(
        encoded, FORMATS[fmt], image.size[0], image.size[1], stem + suffix, len(data)
    )


def check_received(data: bytes, file_name: str) -> CheckedPicture:
    """Decode a received picture's bytes; refuse anything that is not a bounded image.

    Raises:
        AttachmentRejected: too large, or not a PNG/JPEG/GIF/WebP image when decoded.
    """
    if len(data) > MAX_SENT_BYTES:
        raise AttachmentRejected("The received picture is larger than Parley sends.")
    image = _decode(data)
    fmt = image.format or ""
    return CheckedPicture(data, FORMATS[fmt], image.size[0], image.size[1], file_name)


def write_file(path: Path, data: bytes) -> None:
    """Save a decrypted picture where the user chose (the one way plaintext leaves the store).

    Written to a temporary file beside it, flushed, then renamed over ``path``: an existing file
    the user chose to replace is never left half-written. The permissions are the user's usual
    ones (umask), as for any file they save.

    Raises:
        DiskFull: no space left (nothing was replaced).
        AppError: the folder is missing or not writable, or the name is a folder.
    """
    name = path.name or str(path)
    if path.is_dir():
        raise AppError(f"{name} is a folder; choose a file name to save the picture as.")
    temporary: Path | None = None
    try:
        # O_EXCL with mode 0o666: the user's umask applies, as for any file they save.
        temporary = path.parent / f".parley-save-{os.urandom(6).hex()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        with os.fdopen(os.open(temporary, flags, 0o666), "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFull(f"The disk is full: {name} was not saved.") from exc
        raise AppError(f"Could not save {name}: {exc.strerror or exc}.") from exc
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
