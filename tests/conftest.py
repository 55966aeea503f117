"""Test-wide settings. Qt always runs offscreen unless a test starts Xvfb itself.

Shared fixtures live in plugins: tests/keyring_service.py (the real Secret Service keyring, for
tests/app and tests/ui).
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.keyring_service", "tests.warrant_build"]
