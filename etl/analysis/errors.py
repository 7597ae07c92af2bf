"""The analysis commands' one error: a question that cannot be answered as asked."""

from __future__ import annotations


class AnalysisError(ValueError):
    """Bad input to an analysis (an unknown period, ``since`` after ``until``, a query of only
    stopwords): terminal, the same request fails again; the message names the input."""
