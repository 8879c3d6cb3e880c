"""What a process tells its operators: Prometheus metrics (metrics.py); logs and error reports are set up
by the bot (bot/observability.py)."""
