"""What brings a reader back: reading streaks and milestones (streaks.py), the opt-in leaderboard."""
