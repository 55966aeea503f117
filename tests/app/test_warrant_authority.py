"""``parley warrant authority init``: files, Feldman checks, no dealer secret, K opens, K-1 not."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from nacl.bindings import crypto_core_ed25519_scalar_add, crypto_core_ed25519_scalar_mul
from parley.app.warrant import authority, direct_open
from parley.app.warrant.errors import WarrantError
from parley.crypto import threshold
from parley.crypto.hooks import Parties
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import PreKeyBundle, SignedPreKey
from parley.crypto.session import accept_session, initiate_session
from parley.crypto.warrant_envelope import AuthorityKey, EnvelopeHook, EpochKey


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", "warrant", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("authority")
    done = run(
        "authority", "init", "--trustees", "5", "--threshold", "3", "--out", str(out),
        "--epochs", "3", "--epoch-days", "7", "--start", "2026-01-01T00:00:00Z",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_init_writes_public_parameters_and_private_share_files(made: Path) -> None:
    names = sorted(p.name for p in made.iterdir())
    assert names == sorted(
        ["authority.json", "authority-signing.key"] + [f"trustee-{i}.json" for i in range(1, 6)]
    )
    for name in names:
        if name != "authority.json":
            assert stat.S_IMODE((made / name).stat().st_mode) == 0o600, name
    auth = authority.load_authority(made)
    assert (auth.trustees, auth.threshold, len(auth.epochs)) == (5, 3, 3)
    assert auth.epochs[0].start == 1767225600 and auth.epochs[1].start == 1767225600 + 7 * 86400
    assert len(auth.key_id) == 16


def test_each_trustee_checks_its_shares_and_a_tampered_share_is_caught(made: Path) -> None:
    for i in range(1, 6):
        done = run("authority", "verify-share", "--authority", str(made),
                   "--share", str(made / f"trustee-{i}.json"))  # fmt: skip
        assert done.returncode == 0 and "3 shares match" in done.stdout, done.stderr
    raw = json.loads((made / "trustee-2.json").read_text())
    share = raw["shares"][1]["share"]
    flipped = f"{int(share[-2:], 16) ^ 1:02x}"  # always a change (replacing with "00" was not)
    raw["shares"][1]["share"] = share[:-2] + flipped
    forged = made.parent / "forged-trustee.json"
    forged.write_text(json.dumps(raw))
    done = run("authority", "verify-share", "--authority", str(made), "--share", str(forged))
    assert done.returncode == 6
    assert "epoch 1 does not match the commitments" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_dealer_secret_is_written_nowhere(made: Path) -> None:
    auth = authority.load_authority(made)
    trustees = [authority.load_trustee(made / f"trustee-{i}.json") for i in (1, 2, 3)]
    written = b"".join(p.read_bytes() for p in made.iterdir())
    for epoch in auth.epochs:
        shares = [t.shares[epoch.number] for t in trustees]
        # Interpolating three shares at zero gives w_e; check that it is right, then look for it.
        secret = bytes(32)
        for share in shares:
            term = threshold.lagrange_at_zero(share.index, [s.index for s in shares])
            secret = crypto_core_ed25519_scalar_add(
                secret, crypto_core_ed25519_scalar_mul(term, share.scalar)
            )
        assert threshold.base_mul(secret) == epoch.public_key
        assert secret.hex().encode() not in written and secret not in written


def test_a_tampered_authority_file_is_refused(made: Path, tmp_path: Path) -> None:
    raw = json.loads((made / "authority.json").read_text())
    raw["epochs"][0]["trustee_keys"][0] = raw["epochs"][0]["trustee_keys"][1]
    (tmp_path / "authority.json").write_text(json.dumps(raw))
    with pytest.raises(WarrantError, match="key id does not match"):
        authority.load_authority(tmp_path)


def test_init_refuses_impossible_parameters_and_an_existing_authority(made: Path) -> None:
    done = run("authority", "init", "--trustees", "2", "--threshold", "3", "--out", str(made))
    assert done.returncode == 6 and "impossible" in done.stderr
    done = run("authority", "init", "--trustees", "5", "--threshold", "3", "--out", str(made))
    assert done.returncode == 6 and "already holds an authority" in done.stderr
    done = run("authority", "init", "--trustees", "5")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = run("authority", "init", "--trustees", "5", "--threshold", "3",
               "--out", str(made / "authority.json"))  # fmt: skip
    assert done.returncode == 6 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("parley warrant: ") and done.stderr.count("\n") == 1
    done = run("authority", "init", "--trustees", "5", "--threshold", "3", "--out", str(made),
               "--start", "yesterday")  # fmt: skip
    assert done.returncode == 2 and "ISO 8601" in done.stderr


def test_k_share_files_open_a_captured_frame_and_k_minus_1_do_not(made: Path) -> None:
    auth = authority.load_authority(made)
    key = auth.envelope_key()
    epoch = key.epochs[1]
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    spk = SignedPreKey.generate(bob, 1, epoch.start)
    session = initiate_session(alice, PreKeyBundle(bob.public, spk.public(), None))
    sender_hook = EnvelopeHook(key, epoch, frozenset({epoch.number}), require=True)
    session, frame = session.encrypt(b"the captured message", sender_hook)
    recorder = KeyRecorder(key, epoch)
    _, plain = accept_session(bob, spk, None, frame, recorder)
    assert plain == b"the captured message"
    trustees = [authority.load_trustee(made / f"trustee-{i}.json") for i in range(1, 6)]
    sender, recipient = alice.public.to_bytes(), bob.public.to_bytes()
    for chosen in ([0, 1, 2], [4, 2, 0], [1, 3, 4], [0, 1, 2, 3, 4]):
        opened = direct_open.open_message(
            auth, [trustees[i] for i in chosen], frame, sender, recipient
        )
        assert opened == recorder.message_key
    for chosen in ([0, 1], [3, 4], [2]):
        with pytest.raises(WarrantError, match="could not be opened"):
            direct_open.open_message(auth, [trustees[i] for i in chosen], frame, sender, recipient)
    with pytest.raises(WarrantError):  # the right shares, but someone else's frame labels
        direct_open.open_message(auth, trustees[:3], frame, recipient, sender)


class KeyRecorder(EnvelopeHook):
    """The honest recipient's hook, also keeping the message key it checked (test only)."""

    def __init__(self, key: AuthorityKey, epoch: EpochKey) -> None:
        super().__init__(key, epoch, frozenset({epoch.number}), require=True)
        self.message_key = b""

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        super().check(message_key, header_bytes, parties, extension)
        self.message_key = message_key
