"""Command-line plug-ins: one module per modality that extends ``imaging MODALITY ...``.

A module here with ``MODALITY = "name"`` may define ``add_analyze_arguments(parser)``,
``analyze_options(args) -> (analyzer_options, analyze_context)`` and ``add_commands(actions)``
(extra actions, each setting ``func=callable(args) -> exit status``).
"""
