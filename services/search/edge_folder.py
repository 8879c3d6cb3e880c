"""One process holds the Qdrant Edge folder; the bot's other processes use it through that process.

Edge locks each shard's write-ahead log, so a second process cannot open a shard, not even to read.
The first process to use the folder takes its lock file and serves its shards on 127.0.0.1: a random
port and a random token, written to `endpoint.json` in the folder (readable by the same OS user only).
Any other process (`librarity ask`, the worker or the scheduler while the bot runs) sends the same
calls there as JSON (qdrant-client's models, checked on arrival). When the holder exits, the next call
of another process takes the folder over. A call is one Edge operation: searches and writes of
different processes interleave as they would in one process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import http.client
import json
import logging
import os
import secrets
import threading
import time
import typing
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from qdrant_client import models
from qdrant_client.http.models import QueryResponse  # models.QueryResponse is fastembed's

from services.search.edge import EdgeShards, QueryPoints

logger = logging.getLogger(__name__)

ENDPOINT_FILE = "endpoint.json"
LOCK_FILE = "holder.lock"
TOKEN_HEADER = "X-Librarity-Token"
CALL_TIMEOUT_S = 600.0  # a first start may copy a large local-mode folder before answering
HOLDER_WAIT_S = 10.0  # how long a call waits for a holder that is starting (or leaving) to answer
# The calls another process may make (EdgeShards' methods of those names).
CALLS = frozenset(
    {
        "open_collection",
        "upsert",
        "update_vectors",
        "delete",
        "count",
        "scroll",
        "retrieve",
        "query_batch_points",
    }
)


class HolderGone(Exception):
    """The process named in endpoint.json no longer answers."""


class EdgeFolder(QueryPoints):
    """The Edge folder as this process sees it: its own shards while it holds the folder, else the
    holder's, over HTTP. Offers the qdrant-client calls `SearchIndex` makes (synchronous)."""

    def __init__(self, root: Path, *, local_mode_path: Path | None = None) -> None:
        self.root = root
        self.local_mode_path = local_mode_path
        self._shards: EdgeShards | None = None
        self._server: ThreadingHTTPServer | None = None
        self._lock_fd: int | None = None
        self._opened: dict[str, dict[str, Any]] = {}  # open_collection's arguments, for a takeover
        self._guard = threading.Lock()
        self._closed = False

    @property
    def holds(self) -> bool:
        """Whether this process holds the folder (and serves it to the others)."""
        return self._shards is not None

    # --- the qdrant-client calls ------------------------------------------------------------------------

    def open_collection(
        self,
        collection_name: str,
        vectors_config: dict[str, models.VectorParams],
        sparse_vectors_config: dict[str, models.SparseVectorParams],
        indexed_fields: list[str],
    ) -> None:
        arguments = {
            "collection_name": collection_name,
            "vectors_config": vectors_config,
            "sparse_vectors_config": sparse_vectors_config,
            "indexed_fields": indexed_fields,
        }
        self._opened[collection_name] = arguments
        self._run("open_collection", arguments)

    def upsert(self, collection_name: str, points: list[models.PointStruct], wait: bool = True) -> None:
        self._run("upsert", {"collection_name": collection_name, "points": points})

    def update_vectors(
        self, collection_name: str, points: list[models.PointVectors], wait: bool = True
    ) -> None:
        self._run("update_vectors", {"collection_name": collection_name, "points": points})

    def delete(self, collection_name: str, points_selector: models.FilterSelector, wait: bool = True) -> None:
        self._run("delete", {"collection_name": collection_name, "points_selector": points_selector})

    def count(
        self, collection_name: str, count_filter: models.Filter, exact: bool = True
    ) -> models.CountResult:
        result: models.CountResult = self._run(
            "count", {"collection_name": collection_name, "count_filter": count_filter, "exact": exact}
        )
        return result

    def scroll(
        self,
        collection_name: str,
        scroll_filter: models.Filter,
        limit: int = 10,
        offset: str | None = None,
        with_payload: bool = True,
        with_vectors: bool = False,
    ) -> tuple[list[models.Record], str | None]:
        arguments = {
            "collection_name": collection_name,
            "scroll_filter": scroll_filter,
            "limit": limit,
            "offset": offset,
            "with_payload": with_payload,
            "with_vectors": with_vectors,
        }
        result: tuple[list[models.Record], str | None] = self._run("scroll", arguments)
        return result

    def retrieve(
        self, collection_name: str, ids: list[str], with_payload: bool = True
    ) -> list[models.Record]:
        result: list[models.Record] = self._run(
            "retrieve", {"collection_name": collection_name, "ids": ids, "with_payload": with_payload}
        )
        return result

    def query_batch_points(
        self, collection_name: str, requests: list[models.QueryRequest]
    ) -> list[QueryResponse]:
        result: list[QueryResponse] = self._run(
            "query_batch_points", {"collection_name": collection_name, "requests": requests}
        )
        return result

    def close(self) -> None:
        with self._guard:
            self._closed = True
            self._let_go()

    # --- holding the folder, or reaching its holder --------------------------------------------------------

    def _run(self, method: str, arguments: dict[str, Any]) -> Any:
        deadline = time.monotonic() + HOLDER_WAIT_S
        while True:
            shards = self._shards or self._take()
            if shards is not None:
                return getattr(shards, method)(**arguments)
            endpoint = self._endpoint()
            if endpoint is not None:
                try:
                    return _remote_call(endpoint, method, arguments)
                except HolderGone:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Qdrant Edge folder {self.root} is held by another process that does not answer"
                )
            time.sleep(0.05)  # the holder is starting or leaving: take over, or find the new one

    def _take(self) -> EdgeShards | None:
        """Hold the folder if no other process does: open the shards and serve them."""
        with self._guard:
            if self._closed:
                raise RuntimeError("the search index is closed")
            if self._shards is not None:
                return self._shards
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            self._lock_fd = fd
            shards = EdgeShards(self.root, local_mode_path=self.local_mode_path)
            try:
                for arguments in self._opened.values():  # what this process used through the last holder
                    shards.open_collection(**arguments)
                self._server = _serve(shards, self.root)
            except BaseException:
                shards.close()
                self._release_lock()
                raise
            self._shards = shards
            logger.info("this process holds the Qdrant Edge folder %s", self.root)
            return shards

    def _endpoint(self) -> dict[str, Any] | None:
        try:
            endpoint: dict[str, Any] = json.loads((self.root / ENDPOINT_FILE).read_text())
        except (OSError, ValueError):
            return None
        return endpoint if _alive(int(endpoint.get("pid", 0))) else None

    def _let_go(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._shards is not None:
            with contextlib.suppress(OSError):
                (self.root / ENDPOINT_FILE).unlink()
            self._shards.close()
            self._shards = None
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the wire: each call's arguments and result as JSON, typed by EdgeShards' signatures -----------------


@cache
def _types(method: str) -> tuple[dict[str, TypeAdapter[Any]], TypeAdapter[Any]]:
    hints = typing.get_type_hints(getattr(EdgeShards, method))
    result = hints.pop("return")
    return {name: TypeAdapter(hint) for name, hint in hints.items()}, TypeAdapter(result)


def _remote_call(endpoint: dict[str, Any], method: str, arguments: dict[str, Any]) -> Any:
    parameters, result = _types(method)
    body = json.dumps(
        {name: parameters[name].dump_python(value, mode="json") for name, value in arguments.items()}
    ).encode()
    connection = http.client.HTTPConnection("127.0.0.1", int(endpoint["port"]), timeout=CALL_TIMEOUT_S)
    try:
        connection.request(
            "POST", f"/{method}", body, {"Content-Type": "application/json", TOKEN_HEADER: endpoint["token"]}
        )
        response = connection.getresponse()
        data = response.read()
    except ConnectionError as error:
        raise HolderGone from error
    finally:
        connection.close()
    if response.status == 403:  # a stale endpoint.json whose port another holder took since
        raise HolderGone
    if response.status != 200:
        raise RuntimeError(json.loads(data).get("error", f"the Edge holder answered {response.status}"))
    return result.validate_json(data)


def _serve(shards: EdgeShards, root: Path) -> ThreadingHTTPServer:
    token = secrets.token_urlsafe(24)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            method = self.path.strip("/")
            if not hmac.compare_digest(self.headers.get(TOKEN_HEADER, ""), token):
                self._reply(403, b'{"error": "wrong token"}')
                return
            if method not in CALLS:
                self._reply(404, b'{"error": "no such call"}')
                return
            try:
                parameters, result = _types(method)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                arguments = {name: parameters[name].validate_python(value) for name, value in body.items()}
                answer = result.dump_json(getattr(shards, method)(**arguments))
            except Exception as error:
                logger.warning("a call from another process failed: %s", error, exc_info=True)
                self._reply(500, json.dumps({"error": str(error)}).encode())
                return
            self._reply(200, answer)

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False  # so that closing it waits for the calls in progress
    threading.Thread(target=server.serve_forever, name="qdrant-edge-holder", daemon=True).start()
    endpoint = {"port": server.server_address[1], "token": token, "pid": os.getpid()}
    partial = root / f"{ENDPOINT_FILE}.{os.getpid()}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(endpoint, out)
    os.replace(partial, root / ENDPOINT_FILE)
    return server
