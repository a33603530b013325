from service_kit.migrations import run_env
from wallet_service.models import metadata

run_env(metadata)
