"""End-to-end cryptography: keys, prekeys, X3DH, the Double Ratchet, safety numbers.

Pure and synchronous: no I/O, no clocks, no global state. Imports only the standard library and
nacl (PyNaCl, i.e. libsodium); the standard library only for HMAC/HKDF-SHA256 and serialisation.
Randomness is injectable (a ``rng: Callable[[int], bytes]`` parameter defaulting to
``nacl.utils.random``) so that golden vectors can be produced with fixed randomness.
"""
