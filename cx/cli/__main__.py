"""``python -m cx.cli``: the same as the ``cx`` console script."""

import sys

from cx.cli import main

sys.exit(main())
