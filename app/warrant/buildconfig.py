"""Write the generated build configuration (``parley/build_config.py``) for one variant.

packaging/build.sh runs this from the development checkout (which holds every module):

    python -m parley.app.warrant.buildconfig --variant standard|warrant [--authority DIR]
        [--policy strict|transitional] --out FILE

A warrant build without an authority, or with an authority file that fails its checks (key id,
points, Feldman commitments), is refused here: no warrant build ever runs with a placeholder key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from parley.app.warrant import authority
from parley.app.warrant.errors import WarrantError

from parley.variant import DEFAULT_POLICY, POLICIES, VARIANTS, BuildConfig, Policy, render


def make_config(variant: str, authority_dir: Path | None, policy: str) -> BuildConfig:
    """The configuration of one build. Raises WarrantError for a warrant build without a valid
    authority, or an authority given to the standard build."""
    if variant not in VARIANTS or policy not in POLICIES:
        raise WarrantError(f"Unknown variant {variant!r} or policy {policy!r}.")
    if variant == "standard":
        if authority_dir is not None:
            raise WarrantError("The standard build embeds no authority; drop --authority.")
        return BuildConfig("standard")
    if authority_dir is None:
        raise WarrantError(
            "A warrant build needs --authority DIR (made by `parley warrant authority init`); "
            "it is never built with a placeholder key."
        )
    auth = authority.load_authority(authority_dir)
    checked_policy: Policy = "strict" if policy == "strict" else "transitional"
    return BuildConfig("warrant", auth.key_id, authority.to_json(auth), checked_policy)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley.app.warrant.buildconfig")
    parser.add_argument("--variant", required=True, choices=VARIANTS)
    parser.add_argument("--authority", type=Path, default=None)
    parser.add_argument("--policy", default=DEFAULT_POLICY, choices=POLICIES)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        built = make_config(args.variant, args.authority, args.policy)
    except WarrantError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 6
    args.out.write_text(render(built), encoding="utf-8")
    print(f"build: {built.describe()}, mixed-traffic policy {built.mixed_traffic_policy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
