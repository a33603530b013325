from service_kit.migrations import run_env

from fulfillment_service.models import metadata

run_env(metadata)
