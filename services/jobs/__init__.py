"""Scheduled jobs: what runs when (APScheduler 3), each run claimed per period so it happens once."""
