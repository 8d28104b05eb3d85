"""``python -m cx.cli``: the same as the ``cx`` console script."""

import sys

from cx.cli import main

if __name__ == "__main__":
    sys.exit(main())
