"""The relay: stores and forwards ciphertext it cannot read. Imports nothing of app/ or ui/."""
