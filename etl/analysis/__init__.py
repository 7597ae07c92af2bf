"""Read-only questions over stored articles, for media researchers: attention over time
(``trends``), characteristic words (``terms``), outlets compared (``outlets``) and who carried a
story first (``stories``). Pure counting and statistics on the rows etl/load/analysis.py returns;
the CLI and the web page call the same functions.
"""
