"""The warrant build's workflow: authority keys, the envelope policy, and the ``parley warrant``
commands. Only the warrant wheel and the development checkout contain this package."""
