"""Messages the bot starts: the sender (Telegram's pace), user notifications, broadcasts, admin alerts."""
