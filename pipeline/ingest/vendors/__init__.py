"""Readers for containers that are not plain delimited text: Parquet, Databento DBN, zip archives."""
