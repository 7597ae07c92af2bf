"""Who runs the tasks of ``etl.tasks``: ``etl.service`` (one process, APScheduler, SQLite too)
and ``queue`` (procrastinate workers over PostgreSQL). No task logic here."""
