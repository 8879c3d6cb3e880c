"""Sending files (documents, photos and other media) and getFile; downloads are served by the emulator."""

from __future__ import annotations

from bot.sandbox.errors import FILE_TOO_BIG, BotApiError, bad_request
from bot.sandbox.media import guess_mime, image_size
from bot.sandbox.methods.common import caption_content, send, target_chat
from bot.sandbox.methods.registry import method
from bot.sandbox.models import Json, StoredFile
from bot.sandbox.params import Params, Upload
from bot.sandbox.world import SandboxWorld

WRONG_FILE = "wrong file identifier/HTTP URL specified"


def file_json(stored: StoredFile, *, with_name: bool = True) -> Json:
    data: Json = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if with_name and stored.file_name:
        data["file_name"] = stored.file_name
    if with_name and stored.mime_type:
        data["mime_type"] = stored.mime_type
    return data


def photo_sizes(stored: StoredFile) -> list[Json]:
    return [{**file_json(stored, with_name=False), "width": stored.width, "height": stored.height}]


def _receive(world: SandboxWorld, params: Params, field: str, kind: str) -> StoredFile:
    """The file sent in `field`: a new upload, or one already on the server by file_id."""
    value = params.get_file(field)
    if isinstance(value, Upload):
        if len(value.data) > world.config.max_upload_size:
            raise BotApiError(413, "Request Entity Too Large")
        if not value.data:
            raise bad_request("file must be non-empty")
        return world.store_file(
            value.data,
            kind=kind,
            file_name=value.filename,
            mime_type=guess_mime(value.filename, value.content_type),
        )
    if not value:
        raise bad_request(f"there is no {field} in the request")
    if value.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")
    stored = world.files.get(value)
    if stored is None:
        raise bad_request(WRONG_FILE)
    return stored


@method("sendDocument", paced=True)
async def send_document(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params)
    content = caption_content(params)
    stored = _receive(world, params, "document", "documents")
    return send(world, chat, {"document": file_json(stored), **content}, params)


@method("sendPhoto", paced=True)
async def send_photo(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params)
    content = caption_content(params)
    stored = _receive(world, params, "photo", "photos")
    if not stored.width:
        size = image_size(stored.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        stored.width, stored.height = size
    return send(world, chat, {"photo": photo_sizes(stored), **content}, params)


def _media_sender(api_name: str, field: str, kind: str) -> None:
    async def send_media(world: SandboxWorld, params: Params) -> Json:
        chat = target_chat(world, params)
        content = caption_content(params)
        stored = _receive(world, params, field, kind)
        media = file_json(stored)
        for key in ("duration", "width", "height"):
            if params.has(key):
                media[key] = params.get_int(key)
        if field in ("audio", "video", "voice", "animation"):
            media.setdefault("duration", 0)
        if field in ("video", "animation"):
            media.setdefault("width", 0)
            media.setdefault("height", 0)
        return send(world, chat, {field: media, **content}, params)

    method(api_name, paced=True)(send_media)


for _name, _field, _kind in (
    ("sendAudio", "audio", "music"),
    ("sendVideo", "video", "videos"),
    ("sendVoice", "voice", "voice"),
    ("sendAnimation", "animation", "animations"),
):
    _media_sender(_name, _field, _kind)


@method("getFile")
async def get_file(world: SandboxWorld, params: Params) -> Json:
    stored = world.files.get(params.require_str("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    result = file_json(stored, with_name=False)
    if world.config.local_mode:
        result["file_path"] = world.local_path(stored)
    elif stored.size > world.config.max_download_size:
        raise bad_request(FILE_TOO_BIG)
    else:
        result["file_path"] = stored.file_path
    return result
