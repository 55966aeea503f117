"""The click-through tests once more on a real X server (Xvfb) with a window manager (twm).

Offscreen, Qt activates windows and moves focus without a window manager's say; on a desktop a
window manager decides. This runs the add-contact flow, the layout check and the message menu
(replies, reactions: a right click and a popup), blocking a contact (the conversation list's
right-click menu, a shortcut, a question) and the notifications' focus rule (whether a
window is active is the window manager's say there) as a subprocess on Xvfb with twm, Qt's xcb
platform and real window activation.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_click_through_flows_pass_on_xvfb_with_a_window_manager(tmp_path: Path) -> None:
    twm = shutil.which("twm")
    assert twm, "twm is missing: scripts/setup.sh installs it"
    spec = importlib.util.spec_from_file_location(
        "screenshots", ROOT / "scripts" / "screenshots.py"
    )
    assert spec is not None and spec.loader is not None
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    with screenshots.xvfb() as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        manager = subprocess.Popen(
            [twm, "-f", str(ROOT / "scripts" / "twmrc")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            probe = subprocess.run(
                [sys.executable, "-c", "from PySide6.QtWidgets import QApplication as A; "
                 "print(A([]).platformName())"],
                env=env, capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            assert probe.stdout.strip() == "xcb"  # a real X connection, not offscreen
            # The inner run's temp root lies under this test's own: without it, it would use
            # (and clean up) /tmp/pytest-of-USER, which concurrent runs share.
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 f"--basetemp={tmp_path / 'inner'}",
                 "tests/ui/test_ui_add_contact.py", "tests/ui/test_ui_layout.py",
                 "tests/ui/test_ui_replies.py", "tests/ui/test_ui_notifications.py",
                 "tests/ui/test_ui_block_contact.py"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert manager.poll() is None, "twm exited: the run had no window manager"
        finally:
            manager.terminate()
            manager.wait(timeout=10)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
