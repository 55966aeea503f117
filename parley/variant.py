"""Which build this is: the standard build or the warrant build.

The value is decided when the distribution is built; the standard build is the default of a plain
checkout. The warrant build (a later issue) rewrites this constant at build time and is visible in
the window title, the About box and the handshake, never hidden.
"""

from typing import Final, Literal

Variant = Literal["standard", "warrant"]

BUILD_VARIANT: Final[Variant] = "standard"
