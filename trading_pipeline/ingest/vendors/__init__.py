"""Readers for containers that are not plain delimited text: zip archives, JSON payloads, spreadsheets,
Parquet and Databento DBN.

The reader (``trading_pipeline.ingest.reader``) dispatches to them; they build on the text-stream reader
(``textsource``) and the shared table path (``assemble``), never on the reader itself. Heavy optional
libraries (``databento_dbn``, ``python_calamine``) are imported when a file of their kind turns up, so
reading a CSV never loads them. Nothing here is public API.
"""
