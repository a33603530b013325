"""python -m gateway: apply migrations, then serve HTTP until SIGTERM."""

import uvicorn
from service_kit.logs import configure_logging
from service_kit.settings import load_settings

from gateway.app import create_app
from gateway.config import Settings


def run() -> None:
    settings = load_settings(Settings)
    configure_logging("gateway", settings.log_level)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                access_log=settings.access_log, log_config=None, server_header=False,
                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds))


if __name__ == "__main__":
    run()
