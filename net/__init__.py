"""Wire format, the relay protocol (sans-I/O), the asyncio relay client and the relay server.

Payloads are opaque bytes here: net/ never imports parley.crypto, parley.app or parley.ui. The relay
uses nacl directly only to verify the Ed25519 signature of an authentication challenge.
"""
