"""The long-running service (``news-etl run``): scheduling, adaptive timing, files watching,
health and metrics. The CLI wires it to signals; everything here takes engine, client and clock.

The names below are loaded from their modules on first use (PEP 562), so that ``news-etl status``
(``etl.service.health``) does not load the scheduler and the crawl stack that ``runner`` needs.
"""

from importlib import import_module

_HOMES = {"watch_pass": "filewatch", "Health": "health", "check_health": "health", "Metrics": "observe",
          "setup_logging": "observe", "Service": "runner", "ServiceOptions": "runner", "Bounds": "timing",
          "Outcome": "timing", "bounds_of": "timing", "next_delay": "timing"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
