"""The warrant build in the real app pipeline, over a real relay on 127.0.0.1.

Attacker first: Alice plays a modified warrant-build sender whose hook strips or forges the
envelope in each way the issue names; Bob, an honest warrant build, must refuse each message,
show it (who, when), keep it as evidence in his encrypted store, and leave his ratchet untouched,
then read Alice's next honest message. The standard build reads warrant messages and tells its
user at once; the two mixed-traffic policies behave as documented.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from parley.app import build_hooks
from parley.app.events import ContactBuildChanged, ErrorRaised, MessageAdded
from parley.app.messaging import load_sessions
from parley.app.warrant import authority as authority_files
from parley.app.warrant.policy import WarrantHooks
from parley.crypto.hooks import MessageKeyHook, Parties
from parley.crypto.warrant_envelope import EnvelopeHook, EpochKey
from parley.net.relay.server import RelayServer

from parley import variant
from parley.variant import BuildConfig
from tests.warrant_build import WarrantBuild, install_build

from .test_core_fixtures import (  # noqa: F401
    Person,
    accept_requests,
    eventually,
    make_person,
    pair_fixture,
    relay_fixture,
)

WAIT_S = 20.0


def use_build(person: Person, built: BuildConfig) -> None:
    person.messenger.pipeline.hooks = build_hooks.provider(built)
    person.messenger.pipeline.variant = built.variant


def incoming(person: Person) -> list[MessageAdded]:
    return [e for e in person.events if isinstance(e, MessageAdded) and e.message.direction == "in"]


class Forging:
    """A modified sender: seals with ``make(honest hook)`` instead of the honest hook."""

    def __init__(self, honest: WarrantHooks, make: Callable[[EnvelopeHook], MessageKeyHook | None]):
        self.honest = honest
        self.make = make

    def for_sending(self, now: float) -> MessageKeyHook | None:
        return self.make(self.honest.for_sending(now))

    def for_receiving(self, arrival: float) -> build_hooks.ReceiveHook:
        return self.honest.for_receiving(arrival)


class Sealer:
    """Seals through ``seal(honest, key, header, parties)``."""

    def __init__(self, honest: EnvelopeHook, seal: Callable[..., bytes]) -> None:
        self.honest, self._seal = honest, seal

    def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
        return self._seal(self.honest, message_key, header_bytes, parties)

    def check(self, message_key: bytes, header: bytes, parties: Parties, ext: bytes) -> None:
        raise AssertionError("a sending hook only")


COPIED: list[bytes] = []


def record_envelope(honest: EnvelopeHook, key: bytes, header: bytes, parties: Parties) -> bytes:
    envelope = honest.seal(key, header, parties)
    COPIED.append(envelope)
    return envelope


def copy_first(honest: EnvelopeHook, key: bytes, header: bytes, parties: Parties) -> bytes:
    return COPIED[0]  # the valid envelope of Alice's earlier message


def other_authority(tmp: Path) -> Callable[[EnvelopeHook], MessageKeyHook]:
    start = int(time.time()) - 3600
    made = authority_files.init(tmp / "other", trustees=3, threshold_k=2, epochs=2, start=start)
    other = made.envelope_key()
    return lambda _honest: EnvelopeHook(other, other.epochs[0], frozenset(), require=True)


def future_epoch(built: WarrantBuild) -> Callable[[EnvelopeHook], MessageKeyHook]:
    key = authority_files.load_authority(built.authority_dir).envelope_key()
    far: EpochKey = key.epochs[2]  # starts about 13 days from now: never "the epoch of arrival"
    return lambda _honest: EnvelopeHook(key, far, frozenset(), require=True)


def relabelled(honest: EnvelopeHook, key: bytes, header: bytes, parties: Parties) -> bytes:
    other_header = header[:32] + (int.from_bytes(header[32:36], "big") + 1).to_bytes(4, "big")
    return honest.seal(key, other_header + header[36:], parties)


def other_conversation(honest: EnvelopeHook, key: bytes, header: bytes, parties: Parties) -> bytes:
    return honest.seal(key, header, Parties(parties.recipient, parties.sender))


Maker = Callable[[EnvelopeHook], MessageKeyHook | None]
FORGERIES: dict[str, tuple[str, Callable[[WarrantBuild, Path], Maker]]] = {
    "missing": ("missing", lambda b, t: lambda h: None),
    "random": ("mismatch", lambda b, t: lambda h: Sealer(
        h, lambda hh, k, hd, p: hh.seal(k, hd, p)[:13] + os.urandom(80))),
    "copied": ("mismatch", lambda b, t: lambda h: Sealer(h, copy_first)),
    "other authority": ("other-authority", lambda b, t: other_authority(t)),
    "other epoch": ("other-epoch", lambda b, t: future_epoch(b)),
    "relabelled header": ("mismatch", lambda b, t: lambda h: Sealer(h, relabelled)),
    "other conversation": ("mismatch", lambda b, t: lambda h: Sealer(h, other_conversation)),
}  # fmt: skip


async def started(*people: Person) -> None:
    for person in people:
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_an_honest_warrant_recipient_refuses_each_forgery_and_keeps_evidence(
    forgery: str, warrant_build: WarrantBuild, pair: tuple[Person, Person], tmp_path: Path
) -> None:
    alice, bob = pair
    honest = WarrantHooks(warrant_build.config)
    use_build(alice, warrant_build.config)
    use_build(bob, warrant_build.config)
    COPIED.clear()
    alice.messenger.pipeline.hooks = Forging(honest, lambda h: Sealer(h, record_envelope))
    await started(alice, bob)
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "an honest first message")
    await eventually(lambda: len(incoming(bob)) == 1)
    await accept_requests(bob)  # Alice is a stranger to Bob: a message request first
    [contact] = await bob.messenger.contacts()
    assert contact.build_variant == "warrant"  # learnt from the envelope, checked
    sessions_before = [s.to_bytes() for s in load_sessions(bob.messenger.store.db, contact.id)]

    reason, make = FORGERIES[forgery]
    alice.messenger.pipeline.hooks = Forging(honest, make(warrant_build, tmp_path))
    forged = await alice.messenger.send_text(conversation, "a forged envelope")
    await eventually(lambda: len(incoming(bob)) == 2)
    refused = incoming(bob)[1].message
    assert refused.status == "rejected" and refused.id == forged.id
    assert refused.body.startswith("Refused a message from alice (relay received it 20")
    assert "a forged envelope" not in refused.body
    assert any(isinstance(e, ErrorRaised) and "Refused a message" in e.message for e in bob.events)
    record = await bob.messenger.relay_record(refused.id)
    assert ("refused", record.metadata[-1][1]) == record.metadata[-1]
    assert record.metadata[-1][1].startswith(reason + ":")
    assert len(record.frame_hex) > 0  # the encrypted bytes, kept as evidence
    after = [s.to_bytes() for s in load_sessions(bob.messenger.store.db, contact.id)]
    assert after == sessions_before  # the ratchet state is untouched

    alice.messenger.pipeline.hooks = honest
    await alice.messenger.send_text(conversation, "honest again")
    await eventually(lambda: len(incoming(bob)) == 3)
    last = incoming(bob)[2].message
    assert (last.body, last.status) == ("honest again", "delivered")


async def test_a_refused_first_message_names_the_sender_account(
    warrant_build: WarrantBuild, pair: tuple[Person, Person]
) -> None:
    alice, bob = pair
    use_build(bob, warrant_build.config)
    use_build(alice, variant.STANDARD)  # no envelope
    await started(alice, bob)
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "hello from a standard build")
    await eventually(lambda: len(incoming(bob)) == 1)
    refused = incoming(bob)[0].message
    account = alice.messenger.identity.public.to_bytes().hex()
    assert refused.status == "rejected" and f"Unknown {account[:8]}" in refused.body
    assert "no warrant envelope" in refused.body


async def test_the_standard_build_reads_warrant_messages_and_says_so_at_once(
    warrant_build: WarrantBuild, pair: tuple[Person, Person]
) -> None:
    alice, bob = pair
    use_build(alice, warrant_build.config)
    use_build(bob, variant.STANDARD)
    await started(alice, bob)
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "sealed to the authority")
    await eventually(lambda: len(incoming(bob)) == 1)
    got = incoming(bob)[0].message
    assert (got.body, got.status) == ("sealed to the authority", "delivered")
    [told] = [e for e in bob.events if isinstance(e, ContactBuildChanged)]
    assert (told.build_variant, told.authority_key_id) == ("warrant", warrant_build.key_id)
    assert (
        "docs/warrant.md" in told.explanation and "alice uses the warrant build" in told.explanation
    )
    await accept_requests(bob)
    [contact] = await bob.messenger.contacts()
    assert contact.build_variant == "warrant"
    [view] = await bob.messenger.conversations()
    assert (view.build_variant, view.authority_key_id) == ("warrant", warrant_build.key_id)
    record = await bob.messenger.relay_record(got.id)
    assert any(k == "extension" and warrant_build.key_id in v for k, v in record.metadata)
    assert not view.build_acknowledged
    await bob.messenger.acknowledge_build(contact.id)
    [view] = await bob.messenger.conversations()
    assert view.build_acknowledged
    # Bob answers; his message carries no envelope, and Alice (strict) refuses it.
    await bob.messenger.send_text(view.id, "from a standard build")
    # Bob's delivery receipt is refused as well (it too is a message without an envelope).
    await eventually(lambda: len(incoming(alice)) == 2)
    assert {m.message.status for m in incoming(alice)} == {"rejected"}


async def test_the_transitional_policy_accepts_standard_messages_with_a_mark(
    warrant_authority: Path,
    monkeypatch: pytest.MonkeyPatch,
    pair: tuple[Person, Person],
    tmp_path: Path,
) -> None:
    alice, bob = pair
    lenient = install_build(monkeypatch, warrant_authority, tmp_path, "transitional")
    assert lenient.config.mixed_traffic_policy == "transitional"
    use_build(bob, lenient.config)
    use_build(alice, variant.STANDARD)
    await started(alice, bob)
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "no envelope here")
    await eventually(lambda: len(incoming(bob)) == 1)
    got = incoming(bob)[0].message
    assert (got.body, got.status) == ("no envelope here", "delivered")
    record = await bob.messenger.relay_record(got.id)
    assert ("warrant envelope", "none: accepted under the transitional policy") in record.metadata
    await accept_requests(bob)
    [contact] = await bob.messenger.contacts()
    assert contact.build_variant == "standard"


async def test_the_invite_tells_the_build_and_safety_numbers_do_not_change(
    warrant_build: WarrantBuild, pair: tuple[Person, Person]
) -> None:
    alice, bob = pair  # Alice added Bob's invite, made by a warrant build
    invite = await bob.messenger.my_invite()
    [contact] = await alice.messenger.contacts()
    assert contact.build_variant == "warrant"
    [view] = await alice.messenger.conversations()
    assert view.authority_key_id == warrant_build.key_id
    assert warrant_build.key_id not in invite.code  # base32, but the bytes carry it:
    from parley.app import invite as invite_format

    assert invite_format.parse(invite.code).authority_key_id == warrant_build.key_id
    await started(alice, bob)
    await alice.messenger.send_text(view.id, "hello")
    await eventually(lambda: len(incoming(bob)) == 1)
    await accept_requests(bob)
    [bob_contact] = await bob.messenger.contacts()
    ours = await alice.messenger.safety_number(contact.id)
    theirs = await bob.messenger.safety_number(bob_contact.id)
    from parley.crypto.keys import IdentityPublicKey
    from parley.crypto.safety import safety_number

    plain = safety_number(alice.messenger.identity.public, IdentityPublicKey.from_bytes(
        bob.messenger.identity.public.to_bytes()))  # fmt: skip
    assert ours.digits == theirs.digits == plain  # the variant takes no part in it


async def test_the_prekey_bundle_tells_the_build_even_when_the_invite_does_not(
    warrant_build: WarrantBuild, pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    _, bob = pair  # Bob (a warrant build) published his bundle with a signed build tag
    from parley.app import invite as invite_format

    plain = invite_format.Invite(bob.messenger.identity.public.to_bytes(), relay.url, "bob")
    assert plain.build_variant == "standard"  # an invite that says nothing about the build
    carol = await make_person(tmp_path, "carol", relay.url)
    try:
        use_build(carol, variant.STANDARD)
        contact = await carol.messenger.add_contact(plain.code)
        assert contact.build_variant == "warrant"
        [view] = await carol.messenger.conversations()
        assert view.authority_key_id == warrant_build.key_id
    finally:
        await carol.messenger.close()


def test_a_bundle_build_tag_must_be_signed_by_the_bundle_identity() -> None:
    from parley.app import peer_build
    from parley.crypto.errors import CryptoError
    from parley.crypto.keys import IdentityKeyPair

    owner, other = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    record = bytes(109)
    tagged = peer_build.tag_signed_prekey(record, "0011223344556677", owner)
    assert peer_build.split_signed_prekey(tagged, owner.public) == (record, "0011223344556677")
    assert peer_build.split_signed_prekey(record, owner.public) == (record, "")
    forged = peer_build.tag_signed_prekey(record, "0011223344556677", other)
    with pytest.raises(CryptoError):
        peer_build.split_signed_prekey(forged, owner.public)
    with pytest.raises(CryptoError):
        peer_build.split_signed_prekey(tagged[:-1], owner.public)


async def test_session_recovery_works_between_warrant_builds(
    warrant_build: WarrantBuild, pair: tuple[Person, Person]
) -> None:
    """The fresh session of a recovery is built from a bundle carrying the build tag, and the
    messages sent again carry envelopes that the recipient checks."""
    from parley.crypto import ratchet

    from . import test_core_fixtures as core
    from .test_core_recovery import _lose, _talk

    alice, bob = pair
    await core.online(alice, bob)
    conversation = await _talk(alice, bob)
    _lose(alice, ratchet.MAX_SKIP + 1)
    await alice.messenger.send_text(conversation, "after the gap")
    await eventually(lambda: len(core.incoming(bob)) == 2, 30.0)
    assert core.incoming(bob) == ["hello bob", "after the gap"]
    assert all(m.message.status != "rejected" for m in incoming(bob))
