"""``python -m devtools.migration_check`` (``make migration-check``): see the package's docstring."""

import sys

from devtools.migration_check.run import main

sys.exit(main())
