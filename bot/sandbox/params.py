"""Bot API call parameters from a query string, a JSON body, or a (multipart) form as aiogram sends them.

aiogram posts every call as a form: strings go as they are, everything else JSON-encoded, and uploads
as extra multipart fields referenced by `attach://<name>`. Each getter reads a value the way the Bot
API would for that parameter's type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.errors import bad_request


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart body."""

    filename: str
    content_type: str
    data: bytes


class Params:
    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    @classmethod
    async def from_request(cls, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as e:
                    raise bad_request("can't parse JSON body") from e
                if not isinstance(body, dict):
                    raise bad_request("JSON body must be an object")
                values.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = Upload(
                            filename=value.filename or key,
                            content_type=value.content_type or "application/octet-stream",
                            data=value.file.read(),
                        )
                    else:
                        values[key] = value
        return cls(values, uploads)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.uploads

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def require_str(self, name: str) -> str:
        value = self.get_str(name)
        if not value:
            raise bad_request(f"parameter {name} is required")
        return value

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f"parameter {name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError) as e:
            raise bad_request(f"parameter {name} must be an integer") from e

    def require_int(self, name: str) -> int:
        value = self.get_int(name)
        if value is None:
            raise bad_request(f"parameter {name} is required")
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def get_json(self, name: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError as e:
            raise bad_request(f"can't parse {name} JSON object") from e

    def get_file(self, name: str) -> Upload | str | None:
        """An upload for `name` (directly or via attach://), or the file_id / URL string sent instead."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.get_str(name)
        if value and value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"wrong file identifier/HTTP URL specified for {name}")
            return upload
        return value

    def loggable(self) -> dict[str, Any]:
        """The parameters decoded for the call log, uploads as their name and size."""
        logged: dict[str, Any] = {}
        for key, value in self.values.items():
            if isinstance(value, str) and value[:1] in ("{", "["):
                try:
                    logged[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            logged[key] = value
        for key, upload in self.uploads.items():
            logged[key] = {"filename": upload.filename, "size": len(upload.data)}
        return logged
