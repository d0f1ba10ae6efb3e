"""The deploy tests' real parts (Helm's engine with sql storage, the emulator client, the rollout simulator)."""
from tests.deploy.conftest import api, helm, helm_storage_dsn, rollout  # noqa: F401
