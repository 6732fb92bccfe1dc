"""``python -m perfmon``: the same as the ``perfmon`` command."""

import sys

from .cli import main

sys.exit(main())
