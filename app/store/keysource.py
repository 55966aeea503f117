"""Where the database key lives: the OS keyring, or wrapped under a passphrase.

The database key is always 32 random bytes. A key source only decides how it is kept:

- **keyring**: the key (hex) is a ``keyring`` secret under service ``"parley"`` and user
  ``"<profile id>/<key id>"``. Only backends that really protect secrets are accepted; the
  fail, null, plaintext and chainer-without-a-real-backend keyrings are refused with
  NoSecureKeyring, never silently used.
- **passphrase**: Argon2id (libsodium ``crypto_pwhash``, MODERATE by default: 3 passes over
  256 MiB, about a second on a laptop) over a random 16-byte salt derives a wrapping key;
  ``crypto_secretbox`` seals the database key with it. Changing the passphrase rewraps 32 bytes;
  the database itself is never re-encrypted for that.

The non-secret parameters (kind, salt, Argon2 limits, wrapped key, profile and key ids, and a key
check value ``HMAC-SHA256(db key, "parley store key check")``) live in a small JSON header file next
to the database, written atomically with mode 0600 and parsed strictly. The key check lets us tell
"the keyring gave us some other key" (KeyUnavailable) apart from "the database file is damaged"
(CorruptDatabase) without touching the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import keyring
import keyring.backend
import keyring.errors
import nacl.bindings
import nacl.exceptions
import nacl.pwhash
from parley.app.events import KeyStorageInfo
from parley.app.store.db import FILE_MODE, KEY_BYTES, private_umask
from parley.app.store.errors import (
    CorruptDatabase,
    KeyUnavailable,
    NoSecureKeyring,
    StoreError,
    WrongPassphrase,
)
from parley.crypto.kdf import constant_time_equal, hmac_sha256

SERVICE = "parley"
HEADER_VERSION = 1
MAX_HEADER_BYTES = 4096
SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES
OPSLIMIT_DEFAULT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
MEMLIMIT_DEFAULT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
# A header may lower the cost (tests do) but never below libsodium's minimum, and never raise it
# past what a desktop can afford: a tampered header must not make opening take an hour.
OPSLIMIT_RANGE = (nacl.pwhash.argon2id.OPSLIMIT_MIN, 16)
MEMLIMIT_RANGE = (nacl.pwhash.argon2id.MEMLIMIT_MIN, 1 << 30)
_KEY_CHECK_LABEL = b"parley store key check"
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")

Rng = Callable[[int], bytes]

# Backends that store nothing or store it in the clear. Matched by module and class name so that
# keyrings.alt need not be installed for the check to work.
_INSECURE = {
    ("keyring.backends.fail", "Keyring"),
    ("keyring.backends.null", "Keyring"),
    ("keyrings.alt.file", "PlaintextKeyring"),
    ("keyrings.alt.file", "EncryptedKeyring"),  # its own passphrase prompt; not what we promise
}
_FRIENDLY = {
    "keyring.backends.SecretService": "Secret Service",
    "keyring.backends.libsecret": "Secret Service (libsecret)",
    "keyring.backends.kwallet": "KWallet",
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Locker",
}


# ---- the two sources -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyringSource:
    """Keep the key in a keyring; ``backend`` None means the platform default (checked)."""

    backend: keyring.backend.KeyringBackend | None = None

    def resolve(self) -> keyring.backend.KeyringBackend:
        """The backend to use, refused unless it really protects secrets."""
        backend = self.backend if self.backend is not None else keyring.get_keyring()
        return require_secure(backend)


@dataclass(frozen=True, slots=True)
class PassphraseSource:
    """Wrap the key under an Argon2id-stretched passphrase."""

    passphrase: str = field(repr=False)
    opslimit: int = OPSLIMIT_DEFAULT
    memlimit: int = MEMLIMIT_DEFAULT


KeySource = KeyringSource | PassphraseSource


def _backends_of(backend: keyring.backend.KeyringBackend) -> list[keyring.backend.KeyringBackend]:
    inner = getattr(backend, "backends", None)
    if isinstance(inner, list | tuple):
        return [b for b in inner if isinstance(b, keyring.backend.KeyringBackend)]
    return [backend]


def _is_secure(backend: keyring.backend.KeyringBackend) -> bool:
    cls = type(backend)
    return (cls.__module__, cls.__name__) not in _INSECURE and not cls.__module__.startswith(
        "keyrings.alt"
    )


def require_secure(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    """Return ``backend`` if it protects secrets; a chainer passes if one member does.

    Raises:
        NoSecureKeyring: every candidate is a fail/null/plaintext keyring.
    """
    members = _backends_of(backend)
    secure = [b for b in members if _is_secure(b)]
    if not secure:
        # Words for a person; the backends' class names help nobody choosing what to do.
        raise NoSecureKeyring(
            "No secure keyring is available on this computer: no system keychain is running for "
            "this login. Choose a passphrase instead, or install and unlock a keychain such as "
            "GNOME Keyring or KWallet, then try again."
        )
    return secure[0] if len(members) > 1 else backend


def secure_keyring_available() -> bool:
    """Whether the platform's default keyring protects secrets (for the first-run screen)."""
    try:
        require_secure(keyring.get_keyring())
    except NoSecureKeyring:
        return False
    return True


def backend_name(backend: keyring.backend.KeyringBackend) -> str:
    """A person-readable name such as "Secret Service (gnome-keyring)"."""
    module = type(backend).__module__
    name = _FRIENDLY.get(module, f"{module}.{type(backend).__name__}")
    if module == "keyring.backends.SecretService":
        provider = _secret_service_provider()
        if provider:
            return f"{name} ({provider})"
    return name


def _secret_service_provider() -> str:
    """Which daemon answers org.freedesktop.secrets, best effort (empty if unknown)."""
    with contextlib.suppress(Exception):
        from jeepney import DBusAddress, new_method_call  # type: ignore[import-untyped]
        from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]

        bus = DBusAddress(
            "/org/freedesktop/DBus",
            bus_name="org.freedesktop.DBus",
            interface="org.freedesktop.DBus",
        )
        with open_dbus_connection(bus="SESSION") as conn:
            reply = conn.send_and_get_reply(
                new_method_call(
                    bus, "GetConnectionUnixProcessID", "s", ("org.freedesktop.secrets",)
                ),
                timeout=2,
            )
            pid = int(reply.body[0])
            comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
            return "gnome-keyring" if comm.startswith("gnome-keyring") else comm
    return ""


# ---- the header ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    """The non-secret description of how this profile's database key is kept."""

    kind: Literal["keyring", "passphrase"]
    profile_id: str
    key_id: str
    key_check: bytes
    salt: bytes = b""
    opslimit: int = 0
    memlimit: int = 0
    wrapped_key: bytes = b""

    @property
    def keyring_user(self) -> str:
        """The keyring user name of this key's entry."""
        return f"{self.profile_id}/{self.key_id}"


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for k, v in pairs:
        if k in result:
            raise CorruptDatabase(f"The key header repeats the field {k!r}.")
        result[k] = v
    return result


def _hex_field(obj: dict[str, Any], name: str, size: int) -> bytes:
    value = obj.get(name)
    # Whole bytes only: bytes.fromhex would raise ValueError on an odd number of digits.
    if not isinstance(value, str) or not re.fullmatch(r"(?:[0-9a-f]{2})*", value):
        raise CorruptDatabase(f"The key header field {name!r} must be lowercase hex bytes.")
    raw = bytes.fromhex(value)
    if len(raw) != size:
        raise CorruptDatabase(f"The key header field {name!r} must hold {size} bytes.")
    return raw


def _int_field(obj: dict[str, Any], name: str, bounds: tuple[int, int]) -> int:
    value = obj.get(name)
    if type(value) is not int or not bounds[0] <= value <= bounds[1]:
        raise CorruptDatabase(
            f"The key header field {name!r} must be an integer in {bounds[0]}..{bounds[1]}."
        )
    return value


_COMMON = {"version", "kind", "profile_id", "key_id", "key_check"}
_PASSPHRASE = _COMMON | {"salt", "opslimit", "memlimit", "wrapped_key"}
_WRAPPED_BYTES = KEY_BYTES + nacl.bindings.crypto_secretbox_NONCEBYTES + 16


def parse_header(data: bytes) -> Header:
    """Parse a header file strictly: exact field set, types, sizes and bounds.

    Raises:
        CorruptDatabase: anything else.
    """
    if len(data) > MAX_HEADER_BYTES:
        raise CorruptDatabase("The key header file is too large to be a Parley header.")
    try:
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptDatabase(f"The key header file is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise CorruptDatabase("The key header file must hold a JSON object.")
    if obj.get("version") != HEADER_VERSION or type(obj.get("version")) is not int:
        raise CorruptDatabase(f"Unknown key header version {obj.get('version')!r}.")
    kind = obj.get("kind")
    expected = {"keyring": _COMMON, "passphrase": _PASSPHRASE}.get(
        kind if isinstance(kind, str) else ""
    )
    if expected is None:
        raise CorruptDatabase(f"Unknown key storage kind {kind!r} in the key header.")
    if set(obj) != expected:
        raise CorruptDatabase(
            f"The key header has fields {sorted(obj)}, expected {sorted(expected)}."
        )
    for name in ("profile_id", "key_id"):
        if not isinstance(obj[name], str) or not _HEX_ID.match(obj[name]):
            raise CorruptDatabase(f"The key header field {name!r} must be 32 hex digits.")
    key_check = _hex_field(obj, "key_check", 32)
    if kind == "keyring":
        return Header("keyring", obj["profile_id"], obj["key_id"], key_check)
    return Header(
        "passphrase",
        obj["profile_id"],
        obj["key_id"],
        key_check,
        salt=_hex_field(obj, "salt", SALT_BYTES),
        opslimit=_int_field(obj, "opslimit", OPSLIMIT_RANGE),
        memlimit=_int_field(obj, "memlimit", MEMLIMIT_RANGE),
        wrapped_key=_hex_field(obj, "wrapped_key", _WRAPPED_BYTES),
    )


def encode_header(header: Header) -> bytes:
    """The header as the JSON bytes ``parse_header`` reads back."""
    obj: dict[str, object] = {
        "version": HEADER_VERSION,
        "kind": header.kind,
        "profile_id": header.profile_id,
        "key_id": header.key_id,
        "key_check": header.key_check.hex(),
    }
    if header.kind == "passphrase":
        obj |= {
            "salt": header.salt.hex(),
            "opslimit": header.opslimit,
            "memlimit": header.memlimit,
            "wrapped_key": header.wrapped_key.hex(),
        }
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode("utf-8")


def read_header(path: Path) -> Header:
    """Read and parse the header file at ``path``."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_HEADER_BYTES + 1)
    except FileNotFoundError as exc:
        raise CorruptDatabase(f"The key header file {path} is missing.") from exc
    except OSError as exc:
        raise CorruptDatabase(
            f"The key header file {path} cannot be read: {exc.strerror}."
        ) from exc
    return parse_header(data)


def write_header(path: Path, header: Header) -> None:
    """Write the header atomically (temp file, fsync, rename) with mode 0600."""
    tmp = path.with_name(path.name + ".tmp")
    with private_umask():
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(encode_header(header))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# ---- sealing and unsealing -----------------------------------------------------------------


def key_check(db_key: bytes) -> bytes:
    """The value stored in the header to recognise the right database key."""
    return hmac_sha256(db_key, _KEY_CHECK_LABEL)


def _stretch(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    if not passphrase:
        raise WrongPassphrase("The passphrase must not be empty.")
    try:
        key: bytes = nacl.pwhash.argon2id.kdf(
            nacl.bindings.crypto_secretbox_KEYBYTES,
            passphrase.encode("utf-8"),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )
    except (nacl.exceptions.RuntimeError, MemoryError) as exc:
        raise StoreError(f"Stretching the passphrase failed ({exc}); is memory short?") from exc
    return key


def seal(source: KeySource, db_key: bytes, *, profile_id: str, rng: Rng = os.urandom) -> Header:
    """Keep ``db_key`` under ``source`` and return the header describing it.

    For a keyring source this writes the keyring entry (under a fresh key id); nothing is written
    for a passphrase source: the caller writes the returned header.
    """
    if len(db_key) != KEY_BYTES:
        raise StoreError("The database key must be 32 bytes.")
    key_id = rng(16).hex()
    check = key_check(db_key)
    if isinstance(source, KeyringSource):
        backend = source.resolve()
        header = Header("keyring", profile_id, key_id, check)
        try:
            backend.set_password(SERVICE, header.keyring_user, db_key.hex())
        except keyring.errors.KeyringError as exc:
            raise KeyUnavailable(
                f"The keyring ({backend_name(backend)}) refused to store the key: {exc}"
            ) from exc
        return header
    salt = rng(SALT_BYTES)
    wrapping = _stretch(source.passphrase, salt, source.opslimit, source.memlimit)
    nonce = rng(nacl.bindings.crypto_secretbox_NONCEBYTES)
    wrapped = nonce + nacl.bindings.crypto_secretbox(db_key, nonce, wrapping)
    return Header(
        "passphrase",
        profile_id,
        key_id,
        check,
        salt=salt,
        opslimit=source.opslimit,
        memlimit=source.memlimit,
        wrapped_key=wrapped,
    )


def unseal(header: Header, source: KeySource) -> bytes:
    """Recover the database key described by ``header`` using ``source``.

    Raises:
        WrongPassphrase: the passphrase does not unwrap the key.
        KeyUnavailable: the keyring has no entry, or an entry that is not this key.
        NoSecureKeyring: the keyring backend is insecure.
        StoreError: the source's kind does not match the header's.
    """
    if isinstance(source, KeyringSource):
        if header.kind != "keyring":
            raise WrongPassphrase("This profile is protected by a passphrase; enter it to unlock.")
        backend = source.resolve()
        try:
            value = backend.get_password(SERVICE, header.keyring_user)
        except keyring.errors.KeyringError as exc:
            raise KeyUnavailable(
                f"The keyring ({backend_name(backend)}) could not be read: {exc}"
            ) from exc
        if value is None:
            raise KeyUnavailable(
                f"The keyring ({backend_name(backend)}) has no key for this profile. Was it "
                "created on another account or machine, or the keyring reset?"
            )
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise KeyUnavailable("The keyring entry for this profile is not a database key.")
        db_key = bytes.fromhex(value)
    else:
        if header.kind != "passphrase":
            raise KeyUnavailable("This profile keeps its key in the keyring, not a passphrase.")
        wrapping = _stretch(source.passphrase, header.salt, header.opslimit, header.memlimit)
        nonce_len = nacl.bindings.crypto_secretbox_NONCEBYTES
        try:
            db_key = nacl.bindings.crypto_secretbox_open(
                header.wrapped_key[nonce_len:], header.wrapped_key[:nonce_len], wrapping
            )
        except nacl.exceptions.CryptoError as exc:
            raise WrongPassphrase("Wrong passphrase.") from exc
    if not constant_time_equal(key_check(db_key), header.key_check):
        raise KeyUnavailable(
            "The key found does not belong to this profile's database (key check mismatch)."
        )
    return db_key


def forget(header: Header, source: KeySource) -> None:
    """Delete the keyring entry a keyring header refers to (best effort; nothing for passphrase)."""
    if header.kind != "keyring" or not isinstance(source, KeyringSource):
        return
    with contextlib.suppress(keyring.errors.KeyringError):
        source.resolve().delete_password(SERVICE, header.keyring_user)


def describe(header: Header, source: KeySource) -> KeyStorageInfo:
    """Say where the key lives, for the settings dialog and ``parley cli``."""
    if header.kind == "keyring" and isinstance(source, KeyringSource):
        name = backend_name(source.resolve())
        return KeyStorageInfo("keyring", name, f"A random key kept in the system keyring ({name}).")
    return KeyStorageInfo("passphrase", "argon2id", _argon2_words(header.opslimit, header.memlimit))


def _argon2_words(opslimit: int, memlimit: int) -> str:
    """The passphrase's cost in human units, and plainly when it is below the normal one."""
    passes = f"{opslimit} pass{'' if opslimit == 1 else 'es'}"
    memory = f"{memlimit >> 20} MiB" if memlimit >= 1 << 20 else f"{memlimit >> 10} KiB"
    words = f"A random key wrapped with your passphrase (Argon2id: {passes} over {memory})."
    moderate = nacl.pwhash.argon2id
    if opslimit < moderate.OPSLIMIT_MODERATE or memlimit < moderate.MEMLIMIT_MODERATE:
        words += (
            " These are quick test settings, far easier to guess through than Parley's normal "
            f"{moderate.OPSLIMIT_MODERATE} passes over {moderate.MEMLIMIT_MODERATE >> 20} MiB: "
            "fine for a demo, not for real messages."
        )
    return words
