"""python -m fulfillment_service: apply migrations, then serve gRPC, consume jobs and relay results until SIGTERM."""

from service_kit.grpc_server import run_main
from service_kit.logs import configure_logging
from service_kit.settings import load_settings

from fulfillment_service.config import Settings
from fulfillment_service.server import main


def run() -> None:
    settings = load_settings(Settings)
    configure_logging("fulfillment-service", settings.log_level)
    run_main(main(settings))


if __name__ == "__main__":
    run()
