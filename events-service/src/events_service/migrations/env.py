from service_kit.migrations import run_env

from events_service.models import metadata

run_env(metadata)
