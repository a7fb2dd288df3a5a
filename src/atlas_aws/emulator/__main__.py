"""``python -m atlas_aws.emulator``."""

from __future__ import annotations

import sys

from atlas_aws.emulator.cli import main

sys.exit(main(prog="python -m atlas_aws.emulator"))
