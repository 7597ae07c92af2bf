"""The long-running service (``news-etl run``): scheduling, adaptive timing, files watching,
health and metrics. The CLI wires it to signals; everything here takes engine, client and clock."""

from .filewatch import watch_pass
from .health import Health, check_health
from .observe import Metrics, setup_logging
from .runner import Service, ServiceOptions
from .timing import Bounds, Outcome, bounds_of, next_delay

__all__ = ["Bounds", "Health", "Metrics", "Outcome", "Service", "ServiceOptions", "bounds_of",
           "check_health", "next_delay", "setup_logging", "watch_pass"]
