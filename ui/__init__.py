"""The PySide6 desktop app. Reaches app/ only through the bridge (ui/bridge.py)."""
