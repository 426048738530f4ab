"""Reading vendor bar files into canonical bars, and the DataIngestor that validates and stores them."""
