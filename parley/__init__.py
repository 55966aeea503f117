"""Parley: a desktop end-to-end encrypted messenger.

The distribution installs the repository's app/, crypto/, net/ and ui/ folders as subpackages
of this package (see pyproject.toml), so that nothing of ours lands at the top of site-packages.
"""

from parley.variant import BUILD_VARIANT

__all__ = ["BUILD_VARIANT", "__version__"]
__version__ = "0.1.0"
