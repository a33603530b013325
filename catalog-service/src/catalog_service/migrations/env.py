from catalog_service.models import metadata
from service_kit.migrations import run_env

run_env(metadata)
