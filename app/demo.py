"""The two demo profiles behind ``parley demo``: Alice and Bob, who already know each other.

Key storage decision: demo profiles use the passphrase key source with a fixed, public demo
passphrase written in ``DEMO-PASSPHRASE.txt`` inside each profile, and Argon2id at libsodium's
minimum cost (stretching a passphrase printed next to the database protects nothing). This is
deliberate and labelled, not a silent fallback: the file says so, ``profile_state`` reports
"demo", and the settings dialog shows a passphrase source. The keyring was rejected because
throw-away demo profiles would leave entries behind in the person's real keyring. Anyone who
keeps a demo profile for real use should change its key storage in the settings (which removes
the file).
"""

from __future__ import annotations

from pathlib import Path

import nacl.pwhash
from parley.app.account import DEMO_PASSPHRASE_FILE, create_account

DEMO_PASSPHRASE = "parley demo - not secret"  # noqa: S105 (public by design, see above)
NAMES = ("Alice", "Bob")
_NOTICE = (
    "This is a DEMO profile. Its database key is protected by the PUBLIC passphrase on the last\n"
    "line, so that `parley demo` opens without typing. Do not keep real conversations here:\n"
    "change the key storage in the settings first (that deletes this file).\n"
)


async def create_demo_pair(base_dir: Path, relay_url: str) -> tuple[Path, Path]:
    """Create Alice's and Bob's profiles under ``base_dir``, each holding the other's invite.

    Both accounts publish their prekeys to ``relay_url``, which must be running. The messengers
    are closed again; the UI opens the profiles itself.
    """
    profiles = (base_dir / NAMES[0].lower(), base_dir / NAMES[1].lower())
    messengers = []
    try:
        for name, profile in zip(NAMES, profiles, strict=True):
            messenger = await create_account(
                profile,
                name,
                relay_url,
                key_storage="passphrase",
                passphrase=DEMO_PASSPHRASE,
                argon2_limits=(
                    nacl.pwhash.argon2id.OPSLIMIT_MIN,
                    nacl.pwhash.argon2id.MEMLIMIT_MIN,
                ),
            )
            messengers.append(messenger)
            (profile / DEMO_PASSPHRASE_FILE).write_text(
                _NOTICE + DEMO_PASSPHRASE + "\n", encoding="utf-8"
            )
        alice, bob = messengers
        await alice.add_contact((await bob.my_invite()).code)
        await bob.add_contact((await alice.my_invite()).code)
    finally:
        for messenger in messengers:
            await messenger.close()
    return profiles
