"""`python -m casebook.cli`."""

import sys

from casebook.cli._main import main

if __name__ == "__main__":
    sys.exit(main())
