"""news-etl: ingest Persian-language news into PostgreSQL (or SQLite).

Data flows one way: ``etl.fetch`` -> ``etl.clean`` -> ``etl.load``;
``etl.tasks`` ties them together (the work), ``etl.executors`` decides when and where it runs,
and ``etl.cli`` is a thin shell.
"""

__version__ = "0.1.0"
