"""Subcommands of `librarity`, one module each."""
