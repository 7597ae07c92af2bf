"""The cleaning processes' ordered map (etl/cleaners.py): who runs what, and in what order."""

import os

from etl.cleaners import ordered_map


def _where(task):
    return task, os.getpid()


def test_a_single_busy_task_runs_here_and_starts_no_process():
    out = list(ordered_map(_where, ["idle", "busy", "idle2"], workers=1, busy=lambda t: t.startswith("busy")))
    assert [task for task, _ in out] == ["idle", "busy", "idle2"]
    assert {pid for _, pid in out} == {os.getpid()}


def test_with_a_second_busy_task_every_busy_task_goes_to_the_processes_in_order():
    tasks = ["idle", "busy1", "idle2", "busy2", "busy3", "idle3"]
    out = list(ordered_map(_where, tasks, workers=1, busy=lambda t: t.startswith("busy")))
    assert [task for task, _ in out] == tasks  # input order, whatever ran where
    pids = dict(out)
    # The first busy task waited for the second and went to the process too: this process never
    # loads the cleaner for it.
    assert os.getpid() not in {pids["busy1"], pids["busy2"], pids["busy3"]}
    assert {pids["idle"], pids["idle2"], pids["idle3"]} == {os.getpid()}


def test_no_processes_at_all_runs_everything_here():
    out = list(ordered_map(_where, ["busy1", "busy2"], workers=0))
    assert [pid for _, pid in out] == [os.getpid()] * 2
