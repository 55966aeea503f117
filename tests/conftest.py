"""Test-wide settings. Qt always runs offscreen unless a test starts Xvfb itself."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
