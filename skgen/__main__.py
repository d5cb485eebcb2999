"""``python -m skgen``: the same as the ``skgen`` console script."""

import sys

from ._cli import main

sys.exit(main())
