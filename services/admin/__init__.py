"""Running the business from Telegram: roles, the audit log, user search and the admin actions.

`AdminService` (services/admin/service.py) is what the admin handlers receive as `admin`; its parts are
usable alone and testable without Telegram. Nothing here produces user text: results are data and error
codes that handlers map to localised messages.
"""
