"""``python -m imaging``: the same as the ``imaging`` command."""

import sys

from imaging.cli.main import main

sys.exit(main())
