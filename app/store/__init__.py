"""The encrypted local store: SQLCipher database, its key source, schema migrations, queries.

Map:

- ``profile.Store``: create/open a profile folder's store, change its key source, rekey.
- ``keysource``: keyring or passphrase (Argon2id) keeping of the random 256-bit database key.
- ``db.Database``: the SQLCipher connection, pragmas, ``transaction()``.
- ``migrate``: numbered SQL migrations under ``migrations/``.
- One module per table group, each a set of functions over a Database returning typed rows:
  ``identity``, ``prekeys``, ``sessions``, ``contacts``, ``conversations``, ``messages``,
  ``attachments``, ``settings``, ``relay_records``, ``search``.
- ``errors``: the StoreError tree.

All functions are synchronous and meant for the core's single asyncio thread.
"""

from parley.app.store.keysource import KeyringSource, KeySource, PassphraseSource
from parley.app.store.profile import Store

__all__ = ["KeySource", "KeyringSource", "PassphraseSource", "Store"]
