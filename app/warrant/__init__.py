"""The warrant workflow: authority, audit log, HI1 administration, capture export, opening.

Only the warrant build and the development checkout contain this package (the standard wheel
leaves it out). Roles and commands: docs/warrant.md.
"""
