"""`python -m mutabik.cli`: the same as the `mutabik` command."""

import sys

from mutabik.cli import main

sys.exit(main())
