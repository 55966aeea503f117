"""Where a profile lives: the platform's per-user data folder, or the ``--profile DIR`` override.

Linux and other Unixes follow the XDG base directory spec (``$XDG_DATA_HOME/parley``, by default
``~/.local/share/parley``), Windows uses ``%APPDATA%\\Parley`` and macOS
``~/Library/Application Support/Parley``. The folder holds the encrypted store and nothing that
would be readable to other users, so it is created 0700 (on Windows the per-user AppData ACL does
that job).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

DIR_MODE = 0o700
APP_NAME = "Parley"


def default_profile_dir(
    *, platform: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Path:
    """The platform's default profile folder (not created here).

    Args:
        platform: ``sys.platform`` (a parameter so that tests can check each platform).
        env: the environment (default ``os.environ``).
        home: the user's home folder (default ``Path.home()``).
    """
    platform = sys.platform if platform is None else platform
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    if platform.startswith("win"):
        base = env.get("APPDATA")
        return (Path(base) if base else home / "AppData" / "Roaming") / APP_NAME
    if platform == "darwin":
        return home / "Library" / "Application Support" / APP_NAME
    xdg = env.get("XDG_DATA_HOME")
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base_dir / APP_NAME.lower()


def ensure_private_dir(folder: Path) -> Path:
    """Create ``folder`` (and parents) and make it private to the user (0700)."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if os.name == "posix" and stat.S_IMODE(folder.stat().st_mode) != DIR_MODE:
        folder.chmod(DIR_MODE)
    return folder
