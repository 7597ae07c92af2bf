"""Imported by the cleaning processes' forkserver (etl/cleaners.py): the packaged lexicon and the
spaced repair's index built once, before any cleaning process is forked from it.

Each process forked afterwards shares these pages with the forkserver instead of building its own
copy (about 30 MiB), and ``gc.freeze`` keeps the collector from writing to them (a collection
touches every tracked object's header, which would copy the pages into each process).
"""

import gc

from .text import normalize_text

normalize_text("نخستوزیر می دهند کتاب ها دروازه بان")  # builds the lexicon and the pair index
gc.freeze()
