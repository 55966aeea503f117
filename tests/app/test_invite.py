"""Invites: round trips as code and link, and strict refusal of anything damaged."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.app import invite
from parley.app.errors import InvalidInvite

KEY = bytes(range(32))
SAMPLE = invite.Invite(KEY, "wss://relay.example.org:8443/parley", "Zoë Ω")


def test_code_and_link_round_trip_and_tolerate_how_people_paste() -> None:
    assert invite.parse(SAMPLE.code) == SAMPLE
    assert invite.parse(SAMPLE.link) == SAMPLE
    assert SAMPLE.link.startswith("parley://invite/")
    grouped = "-".join(SAMPLE.code[i : i + 5] for i in range(0, len(SAMPLE.code), 5))
    assert invite.parse(f"  {grouped.upper()}\n") == SAMPLE


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Paste"),
        ("   ", "Paste"),
        ("parley:garbage", "not an invite"),
        ("hello, world!", "characters"),
        ("abc", "short|length"),
        ("a" * 2000, "too long"),
    ],
)
def test_junk_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInvite, match=reason):
        invite.parse(text)


def test_every_single_bit_flip_is_caught() -> None:
    data = SAMPLE.to_bytes()
    for index in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[index] ^= 1 << bit
            with pytest.raises(InvalidInvite):
                invite.from_bytes(bytes(damaged))


def test_truncation_and_a_wrong_version_are_refused() -> None:
    data = SAMPLE.to_bytes()
    for cut in range(len(data)):
        with pytest.raises(InvalidInvite):
            invite.from_bytes(data[:cut])
    body = b"\x03" + data[1:-4]
    with pytest.raises(InvalidInvite, match="version 3"):
        invite.from_bytes(body + invite._checksum(body))


def test_a_warrant_build_invite_carries_its_authority_and_a_standard_one_does_not() -> None:
    assert SAMPLE.to_bytes()[0] == 1 and SAMPLE.build_variant == "standard"
    warrant = invite.Invite(KEY, SAMPLE.relay_url, SAMPLE.display_name, "0123456789abcdef")
    data = warrant.to_bytes()
    assert data[0] == 2 and bytes.fromhex("0123456789abcdef") in data
    parsed = invite.parse(warrant.link)
    assert parsed == warrant and parsed.build_variant == "warrant"
    for cut in range(len(data)):
        with pytest.raises(InvalidInvite):
            invite.from_bytes(data[:cut])


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://relay", "a"),
        ("ws://", "a"),
        ("ws://r", ""),
        ("ws://r", "x" * 65),
        ("ws://r", "a\nb"),
    ],
)
def test_invalid_fields_cannot_be_made(url: str, name: str) -> None:
    with pytest.raises(InvalidInvite):
        invite.Invite(KEY, url, name)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(data: bytes) -> None:
    with contextlib.suppress(InvalidInvite):
        invite.from_bytes(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_the_parser(text: str) -> None:
    with contextlib.suppress(InvalidInvite):
        invite.parse(text)
