"""``python -m kubectl_dagster``."""

import sys

from .cli import main

sys.exit(main())
