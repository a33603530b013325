"""python -m events_service: apply migrations, then serve gRPC and consume the events until SIGTERM."""

from service_kit.grpc_server import run_main
from service_kit.logs import configure_logging
from service_kit.settings import load_settings
from service_kit.tracing import configure_tracing

from events_service.config import Settings
from events_service.server import main


def run() -> None:
    settings = load_settings(Settings)
    configure_logging("events-service", settings.log_level)
    configure_tracing("events-service")   # on only when the OTEL_* settings ask for it
    run_main(main(settings))


if __name__ == "__main__":
    run()
