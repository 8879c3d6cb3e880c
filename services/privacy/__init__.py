"""The user's own data: everything the bot keeps about them, handed out as a file (/export)."""
