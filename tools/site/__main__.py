"""``python -m tools.site``: build the static web edition (see :mod:`tools.site`)."""
import sys

from .build import main

if __name__ == "__main__":
    sys.exit(main())
