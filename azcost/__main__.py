"""``python -m azcost``: the azcost command line."""

import sys

from .cli import main

sys.exit(main())
