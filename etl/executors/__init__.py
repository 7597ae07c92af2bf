"""Who runs the tasks of ``etl.tasks``, and when: ``local`` (`news-etl run`: one process,
APScheduler, SQLite too), ``queue`` (procrastinate workers over PostgreSQL, `news-etl worker`) and
``once`` (`news-etl fetch`: every source's pass now). No task logic here: the same pass and the same
due policy run on each."""
