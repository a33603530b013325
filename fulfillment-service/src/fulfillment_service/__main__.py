"""python -m fulfillment_service: apply migrations, then serve gRPC, consume jobs and relay results until SIGTERM."""

from service_kit.grpc_server import run_main
from service_kit.logs import configure_logging
from service_kit.settings import load_settings
from service_kit.tracing import configure_tracing

from fulfillment_service.config import Settings
from fulfillment_service.server import main


def run() -> None:
    settings = load_settings(Settings)
    configure_logging("fulfillment-service", settings.log_level)
    configure_tracing("fulfillment-service")   # on only when the OTEL_* settings ask for it
    run_main(main(settings))


if __name__ == "__main__":
    run()
