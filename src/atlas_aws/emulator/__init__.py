"""The AWS emulator: moto in server mode behind a fidelity layer (see :mod:`.layer`)."""

from __future__ import annotations

from atlas_aws.emulator.layer import CREATE_ACTIONS, Fidelity, FidelityConfig, account_for
from atlas_aws.emulator.server import AwsEmulator, shared_emulator

__all__ = [
    "CREATE_ACTIONS",
    "AwsEmulator",
    "Fidelity",
    "FidelityConfig",
    "account_for",
    "shared_emulator",
]
