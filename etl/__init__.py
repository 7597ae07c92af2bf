"""news-etl: ingest Persian-language news into PostgreSQL (or SQLite).

Data flows one way: ``etl.fetch`` -> ``etl.clean`` -> ``etl.load``;
``etl.pipeline`` ties them together for one source and ``etl.cli`` is a thin shell.
"""

__version__ = "0.1.0"
