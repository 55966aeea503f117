"""The warrant build's part of ``parley --self-test`` (app/self_test.py runs it; warrant-only).

The exchange the core self-test just ran went through this build's message-key hook, which seals
every message key to the compiled-in authority and, under the strict policy, refuses any message
whose envelope is missing or wrong; so those messages arriving already shows envelopes were made
and checked. This adds the direct check: with the compiled-in authority's key for the present
epoch, an envelope sealed by the hook passes the hook's check, and a missing, altered or
misbound one is refused, each for its stated reason.
"""

from __future__ import annotations

import os
import time

from parley.app.errors import AppError
from parley.app.warrant.authority import parse_authority
from parley.crypto.errors import EnvelopeRejected
from parley.crypto.hooks import Parties
from parley.crypto.warrant_envelope import HEADER_LEN, IDENTITY_LEN, EnvelopeHook

from parley.variant import config


def check() -> str:
    """Run the envelope check; return the line for the report. Raises AppError on failure."""
    build = config()
    authority = parse_authority(build.authority_json).envelope_key()
    epoch = authority.epoch_at(time.time())
    if epoch is None:
        raise AppError(
            f"the authority {build.authority_key_id} has no epoch key for the present time "
            "(the build has expired or the clock is wrong)"
        )
    hook = EnvelopeHook(authority, epoch, frozenset({epoch.number}), require=True)
    key, header = os.urandom(32), os.urandom(HEADER_LEN)
    parties = Parties(os.urandom(IDENTITY_LEN), os.urandom(IDENTITY_LEN))
    envelope = hook.seal(key, header, parties)
    hook.check(key, header, parties, envelope)
    altered = bytes([envelope[0]]) + envelope[1:-1] + bytes([envelope[-1] ^ 1])
    other = Parties(parties.recipient, parties.sender)
    for what, args in (
        ("a missing envelope", (key, header, parties, b"")),
        ("an altered envelope", (key, header, parties, altered)),
        ("an envelope moved to other parties", (key, header, other, envelope)),
    ):
        try:
            hook.check(*args)
        except EnvelopeRejected:
            continue
        raise AppError(f"the warrant build accepted {what}")
    return (
        f"warrant envelope ({len(envelope)} bytes) sealed to authority {build.authority_key_id} "
        f"epoch {epoch.number} and checked; missing, altered and misbound envelopes refused"
    )
