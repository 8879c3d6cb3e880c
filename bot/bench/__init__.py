"""Benchmarks behind `librarity bench`: retrieval quality and ingestion speed."""
