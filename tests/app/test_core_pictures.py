"""Picture checks: decoded, never trusted by name; metadata stripped; bombs and giants refused."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from parley.app import attachments
from parley.app.errors import AttachmentRejected
from PIL import Image


def test_a_jpeg_loses_its_exif_location_when_prepared(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_0001.JPG"
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    Image.new("RGB", (40, 30), "green").save(photo, "JPEG", exif=exif)
    with Image.open(photo) as original:
        assert original.getexif()[0x010F] == "SpyCam Inc."
    prepared = attachments.prepare_picture(photo)
    assert prepared.mime_type == "image/jpeg" and prepared.file_name == "IMG_0001.jpg"
    assert b"SpyCam" not in prepared.data
    with Image.open(io.BytesIO(prepared.data)) as clean:
        assert not clean.getexif() and clean.size == (40, 30)


def test_a_large_noisy_picture_is_scaled_to_fit_one_message(tmp_path: Path) -> None:
    noisy = tmp_path / "noise.png"
    Image.frombytes("RGB", (900, 700), os.urandom(900 * 700 * 3)).save(noisy)
    assert noisy.stat().st_size > attachments.MAX_SENT_BYTES
    prepared = attachments.prepare_picture(noisy)
    assert len(prepared.data) <= attachments.MAX_SENT_BYTES
    assert prepared.mime_type == "image/jpeg" and prepared.width < 900
    assert prepared.width * 700 == pytest.approx(prepared.height * 900, rel=0.02)


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "small-file.png"
    Image.new("1", (10_000, 10_000)).save(bomb)  # 100 Mpixel in a few kilobytes
    assert bomb.stat().st_size < 100_000
    with pytest.raises(AttachmentRejected, match="pixels"):
        attachments.prepare_picture(bomb)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a" + b"\0" * 20,
        b"%PDF-1.7 not an image",
        b"\xff\xd8\xff\xe0" + b"\0" * 50,  # a JPEG header and nothing else
    ],
)
def test_things_that_only_look_like_pictures_are_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(data)
    with pytest.raises(AttachmentRejected):
        attachments.prepare_picture(path)
    with pytest.raises(AttachmentRejected):
        attachments.check_received(data, "picture.png")


def test_unsupported_formats_and_missing_files_are_refused(tmp_path: Path) -> None:
    bmp = tmp_path / "old.bmp"
    Image.new("RGB", (4, 4)).save(bmp)
    with pytest.raises(AttachmentRejected, match="BMP"):
        attachments.prepare_picture(bmp)
    with pytest.raises(AttachmentRejected, match="Cannot read"):
        attachments.prepare_picture(tmp_path / "nowhere.png")


def test_a_received_picture_is_decoded_as_is() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (3, 2), (1, 2, 3, 4)).save(out, "PNG")
    checked = attachments.check_received(out.getvalue(), "dot.png")
    assert (checked.mime_type, checked.width, checked.height) == ("image/png", 3, 2)
    assert checked.data == out.getvalue()
