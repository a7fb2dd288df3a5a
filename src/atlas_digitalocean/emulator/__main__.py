"""Run the emulator server: ``python -m atlas_digitalocean.emulator --port 8999``."""

from __future__ import annotations

import sys

from atlas_digitalocean.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m atlas_digitalocean.emulator"))
