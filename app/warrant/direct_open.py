"""Open one captured message with K trustees' share files in one process.

This is the arithmetic of an opening and nothing more: no warrant, no request, no audit log, no
proofs (issue 10's workflow wraps exactly these steps in all of them). Tests and bench/warrant.py
use it to show that K shares open the exact message key and K - 1 do not.
"""

from __future__ import annotations

from collections.abc import Sequence

from parley.app.warrant.authority import Authority, TrusteeShares
from parley.app.warrant.errors import WarrantError
from parley.crypto import threshold, warrant_envelope
from parley.crypto.errors import CryptoError


def partial(trustee: TrusteeShares, epoch: int, point: bytes) -> tuple[int, bytes]:
    """Trustee i's answer ``(i, D_i = w_{e,i}·R)``. Raises WarrantError without that share."""
    share = trustee.shares.get(epoch)
    if share is None:
        raise WarrantError(f"Trustee {trustee.index} holds no share of epoch {epoch}.")
    return share.index, threshold.point_mul(share.scalar, point)


def open_message(
    auth: Authority,
    trustees: Sequence[TrusteeShares],
    message_bytes: bytes,
    sender: bytes,
    recipient: bytes,
) -> bytes:
    """The message key of a captured session message between two relay accounts.

    Raises:
        WarrantError: the message carries no envelope of this authority, or the shares do not
            open it (fewer than K, or wrong ones).
    """
    try:
        envelope, bound = warrant_envelope.captured_binding(message_bytes, sender, recipient)
        parsed = warrant_envelope.parse(envelope)
        if parsed.key_id.hex() != auth.key_id:
            raise WarrantError(f"The message is sealed to authority {parsed.key_id.hex()}.")
        point = warrant_envelope.ephemeral_point(envelope)
        shared = threshold.combine([partial(t, parsed.epoch, point) for t in trustees])
        return warrant_envelope.open_with_shared_point(shared, envelope, bound)
    except CryptoError as exc:
        raise WarrantError(f"The message could not be opened: {exc}") from None
