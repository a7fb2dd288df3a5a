"""``python -m atlas`` runs the command line."""

from __future__ import annotations

import sys

from atlas.cli import main

sys.exit(main())
