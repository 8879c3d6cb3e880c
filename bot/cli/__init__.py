"""Subcommands of `librarity`, one module each."""

# The shelf `librarity ingest` and `librarity ask` use when no --user is given: the user the sandbox's web
# page chats as, so a book sent in the page can be asked from the command line (and the reverse).
LOCAL_USER_ID = 1001
