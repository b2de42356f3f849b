"""``python -m symflux``: the command line (see ``symflux.cli``)."""

import sys

from .cli import main

sys.exit(main())
