"""`python -m kitaru.cli` = the `kitaru` command."""

import sys

from kitaru.cli import main

sys.exit(main())
