"""``python -m atlas`` runs the command line."""

from __future__ import annotations

import sys

try:
    from atlas.cli import main
except KeyboardInterrupt:  # Ctrl-C while starting up: nothing began, and no traceback
    sys.exit(130)

sys.exit(main())
