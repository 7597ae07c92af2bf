"""The clean stage: pure functions from strings to normalized strings and UTC datetimes.

Nothing here imports ``etl.fetch`` or ``etl.load``, reads a clock or touches the network.
"""

from .agency import Attribution, find_attribution, lead_agency
from .dates import ParsedDate, parse_date, parse_date_info
from .html import html_to_text
from .text import normalize_text
from .urls import canonical_url

__all__ = [
    "Attribution", "ParsedDate", "canonical_url", "find_attribution", "html_to_text", "lead_agency", "normalize_text",
    "parse_date", "parse_date_info",
]
