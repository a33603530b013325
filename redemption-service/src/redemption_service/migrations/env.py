from service_kit.migrations import run_env

from redemption_service.models import metadata

run_env(metadata)
