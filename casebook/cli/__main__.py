"""`python -m casebook.cli`."""

import sys

from casebook.cli._main import main

sys.exit(main())
