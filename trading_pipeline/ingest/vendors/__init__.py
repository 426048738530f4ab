"""Readers for containers that are not plain delimited text: Parquet, Databento DBN, zip archives.

Internal to ``trading_pipeline.ingest.reader``, which imports each module only when a file of its kind
turns up (so reading a CSV never loads ``databento_dbn``); nothing here is public API.
"""
