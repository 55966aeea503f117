"""The bundle's entry point (PyInstaller freezes it): the same `parley` command as the wheel's."""

import sys

from parley.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
