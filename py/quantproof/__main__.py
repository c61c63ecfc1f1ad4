"""``python -m quantproof``: the same command line as ``quantproof``."""

import sys

from .cli import main

sys.exit(main())
