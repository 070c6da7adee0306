"""`python -m casebook.cli`."""

import sys

from casebook.cli._main import main

if __name__ == "__main__":  # importing the module (the packaging test does) runs nothing
    sys.exit(main())
