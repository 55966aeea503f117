"""Fixtures for the core and store tests: temp profiles and fast passphrases; the real relay
(``relay``) and two accounts on it (``pair``) from test_core_fixtures.py.

The real Secret Service keyring (``secret_service``, ``secret_keyring``) comes from the shared
plugin tests/keyring_service.py, which tests/ui uses too.
"""

from __future__ import annotations

from pathlib import Path

import nacl.pwhash
import pytest
from parley.app.store.keysource import PassphraseSource

from .test_core_fixtures import pair_fixture, relay_fixture

__all__ = ["pair_fixture", "relay_fixture"]  # pytest finds them here for every test module


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    """A profile folder path that does not exist yet."""
    return tmp_path / "profile"


def fast_passphrase(passphrase: str = "correct horse battery staple") -> PassphraseSource:
    """A passphrase source with libsodium's minimum Argon2id cost, to keep the tests quick."""
    return PassphraseSource(
        passphrase,
        opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN,
        memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN,
    )


@pytest.fixture
def passphrase_source() -> PassphraseSource:
    return fast_passphrase()
