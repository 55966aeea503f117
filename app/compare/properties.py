"""The two vocabularies reviewers already read: SoK: Secure Messaging and the EFF scorecard.

Each entry says what the standard build gives, what the warrant build gives, and what the warrant
build changes; where this run demonstrated the property, the report shows the run's result with
its evidence (the ``shown_by`` key names the matrix row or fact), otherwise the text says where
the claim comes from ("design", "not claimed", "not applicable"), never a bare tick.
"""

from __future__ import annotations

from typing import NamedTuple


class Property(NamedTuple):
    name: str
    standard: str
    warrant: str
    change: str
    # A matrix party (or "standard party|warrant party") or a fact key whose results the report
    # shows with the claim, or "".
    shown_by: str


SOK_SECURITY: list[Property] = [
    Property(
        "Confidentiality",
        "only the two parties hold message keys",
        "the two parties, plus K trustees and the agency under a logged, in-scope warrant",
        "changed: a third way in exists, gated by the warrant, the log and K of N trustees",
        "relay operator|K trustees with a logged, in-scope warrant",
    ),
    Property(
        "Integrity",
        "XChaCha20-Poly1305 over every message (design; docs/protocol.md s4)",
        "the same; the envelope travels inside the associated data",
        "unchanged",
        "",
    ),
    Property(
        "Authentication",
        "X3DH identity keys; safety numbers (design)",
        "the same",
        "unchanged",
        "recipient",
    ),
    Property(
        "Participant consistency",
        "two-party sessions only; no hidden member can join",
        "the same: the envelope adds no participant to the session (no ghost user)",
        "unchanged; the extra reader is visible in the build, UI and handshake",
        "",
    ),
    Property(
        "Destination validation",
        "the AEAD binds both identity keys (X3DH associated data)",
        "the same; the envelope is bound to both identity keys too",
        "unchanged",
        "",
    ),
    Property(
        "Forward secrecy",
        "a device stolen later does not open captured past traffic",
        "against device theft the same; against the escrow key holders none: the warrant key "
        "opens every captured message of its epoch",
        "weakened: escrow reverses forward secrecy for the key holders (Keys Under Doormats)",
        "whoever steals a device later",
    ),
    Property(
        "Backward (future) secrecy",
        "each change of speaker is a Diffie-Hellman ratchet step that heals a compromise",
        "the same for device keys; a stolen epoch key keeps opening messages until the epoch ends",
        "weakened for the epoch key's window",
        "dh_turns",
    ),
    Property(
        "Anonymity preserving",
        "not claimed: the relay sees which accounts talk",
        "not claimed",
        "unchanged",
        "",
    ),
    Property("Speaker consistency", "not claimed", "not claimed", "unchanged", ""),
    Property("Causality preserving", "not claimed", "not claimed", "unchanged", ""),
    Property("Global transcript", "not applicable: two-party chats only", "same", "unchanged", ""),
]

SOK_PRIVACY: list[Property] = [
    Property(
        "Message unlinkability",
        "not claimed: the relay links messages of one pair",
        "not claimed",
        "unchanged",
        "",
    ),
    Property(
        "Message repudiation",
        "yes by design: messages are authenticated with keys both parties hold, no signature",
        "weakened: an opened envelope shows the message key belongs to that session (bound to "
        "both identity keys), and the relay's signed attestation names the authenticated sending "
        "account, so the pair of records attributes the message to a sender",
        "weakened by the relay attestation the trustees require",
        "",
    ),
    Property(
        "Participation repudiation",
        "not claimed: the relay knows both accounts",
        "not claimed; an audit log entry records that a warrant named the target",
        "weakened: the log states that the target was intercepted",
        "",
    ),
]

SOK_USABILITY: list[Property] = [
    Property("Out-of-order resilient", "yes: skipped message keys kept (bounded)", "same", "", ""),
    Property("Dropped-message resilient", "yes: the ratchet skips lost messages", "same", "", ""),
    Property(
        "Asynchronous", "the relay holds messages for an offline recipient", "same", "", "offline"
    ),
    Property("Multi-device support", "no: one device per account", "no", "unchanged", ""),
    Property(
        "No additional service",
        "yes: a relay only",
        "no: trustees, an agency and an audit log must exist",
        "changed",
        "",
    ),
]

SOK_TRUST: list[Property] = [
    Property("Network MitM prevented", "yes: signed prekeys, X3DH (design)", "same", "", ""),
    Property(
        "Operator MitM detected",
        "yes: 60-digit safety numbers, key-change banner",
        "same",
        "unchanged",
        "",
    ),
    Property(
        "Key revocation / renewal",
        "signed prekeys rotate weekly and on demand",
        "same",
        "unchanged",
        "rotation",
    ),
    Property("Automatic key initialization", "yes: X3DH from published prekeys", "same", "", ""),
    Property("No shared secrets", "yes", "no: the trustees share the warrant key", "changed", ""),
    Property("No service provider", "no: a relay", "no: a relay and the authority", "", ""),
]

SOK_TRANSPORT: list[Property] = [
    Property(
        "Sender / recipient / participation anonymity",
        "no: the relay authenticates the sender and routes to the recipient",
        "no; the capture keeps this metadata for targets (HI2)",
        "more metadata kept for targets",
        "",
    ),
    Property("Contact discovery", "invite codes only; no directory", "same", "unchanged", ""),
]

EFF: list[Property] = [
    Property(
        "Encrypted in transit?",
        "yes: end to end (the relay speaks ws://; deploy behind TLS for the metadata)",
        "yes, end to end, plus the envelope to the authority",
        "",
        "relay operator",
    ),
    Property(
        "Encrypted so the provider can't read it?",
        "yes: the relay operator reads nothing",
        "the relay operator alone reads nothing; the authority can, under a warrant",
        "",
        "relay operator",
    ),
    Property(
        "Can you verify contacts' identities?",
        "yes: safety numbers and QR codes",
        "yes, the same",
        "",
        "",
    ),
    Property(
        "Are past communications secure if your keys are stolen?",
        "yes: device theft does not open past captured traffic",
        "against device theft yes; against theft of the warrant key shares no",
        "",
        "whoever steals a device later",
    ),
    Property(
        "Is the code open to independent review?",
        "yes: the full source is in the repository",
        "yes: same tree, the warrant parts included",
        "",
        "",
    ),
    Property(
        "Is the security design properly documented?",
        "yes: docs/protocol.md, docs/relay.md",
        "yes: plus docs/warrant.md",
        "",
        "",
    ),
    Property(
        "Has there been a recent independent code audit?",
        "no: none is recorded in this repository; any earlier review counts only for what it "
        "covered",
        "no: no review covers the warrant code",
        "",
        "",
    ),
]
