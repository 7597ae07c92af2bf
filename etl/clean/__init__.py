"""The clean stage: pure functions from strings to normalized strings and UTC datetimes.

Nothing here imports ``etl.fetch`` or ``etl.load``, reads a clock or touches the network.
"""

from .dates import ParsedDate, parse_date, parse_date_info
from .html import html_to_text
from .text import lead_agency, normalize_text
from .urls import canonical_url

__all__ = [
    "ParsedDate", "canonical_url", "html_to_text", "lead_agency", "normalize_text",
    "parse_date", "parse_date_info",
]
