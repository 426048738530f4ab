"""Pieces the pages share: upload form and live follow, preview, chart, validation report, symbols."""
