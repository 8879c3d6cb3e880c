"""Qdrant Edge (qdrant-edge-py): the embedded vector engine, Qdrant's own engine in-process.

`EdgeShards` keeps one Edge shard per collection under one folder and answers the qdrant-client calls
that `SearchIndex` makes (upsert, query_batch_points, retrieve, ...), taking and returning
qdrant-client's models, so the index's code is the same for a Qdrant server and for Edge.

The layout is the server's: named multivector `dense` (MaxSim) and sparse `lexical` (IDF), payload
indexes on user_id and book_id. HNSW is off (m=0): every query filters by user (and book), and the
payload indexes narrow it to that subset, which a plain scan ranks in a few milliseconds (2-3 ms for a
4,000-chunk book among 16,000 points), while a graph over multivectors is slow to build. The shard's
optimizer is never run, for the same reason. Payload stays in the shard: retrieving 20 points by id
takes ~0.1 ms.

A collection that qdrant-client's local mode kept (DATA_DIR/qdrant, the embedded default before Edge)
is copied into Edge when its shard is first opened, vectors and payload as they are (no re-embedding),
with progress in the log; the old folder is left alone.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from qdrant_client import models
from qdrant_client.http.models import QueryResponse  # models.QueryResponse is fastembed's

logger = logging.getLogger(__name__)

MIGRATE_BATCH = 256
_DISTANCES = {
    models.Distance.COSINE: qe.Distance.Cosine,
    models.Distance.DOT: qe.Distance.Dot,
    models.Distance.EUCLID: qe.Distance.Euclid,
    models.Distance.MANHATTAN: qe.Distance.Manhattan,
}
_NO_GRAPH = qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000)


class QueryPoints:
    """qdrant-client's `query_points`, made of `query_batch_points` (the one query call the engine has)."""

    def query_batch_points(
        self, collection_name: str, requests: list[models.QueryRequest]
    ) -> list[QueryResponse]:
        raise NotImplementedError

    def query_points(
        self,
        collection_name: str,
        query: Any = None,
        using: str | None = None,
        prefetch: list[models.Prefetch] | None = None,
        query_filter: models.Filter | None = None,
        limit: int = 10,
        with_payload: bool = True,
    ) -> QueryResponse:
        request = models.QueryRequest(
            query=query,
            using=using,
            prefetch=prefetch,
            filter=query_filter,
            limit=limit,
            with_payload=with_payload,
        )
        return self.query_batch_points(collection_name, [request])[0]


class EdgeShards(QueryPoints):
    """Edge shards under `root`, one per collection, opened by `open_collection` and kept open."""

    def __init__(self, root: Path, *, local_mode_path: Path | None = None) -> None:
        self.root = root
        self.local_mode_path = local_mode_path
        self._shards: dict[str, qe.EdgeShard] = {}
        self._lock = threading.Lock()

    def open_collection(
        self,
        collection_name: str,
        vectors_config: dict[str, models.VectorParams],
        sparse_vectors_config: dict[str, models.SparseVectorParams],
        indexed_fields: list[str],
    ) -> None:
        """Open the collection's shard (made, or copied from local mode, the first time); an existing
        shard with another layout raises RuntimeError."""
        with self._lock:
            if collection_name in self._shards:
                return
            config = _edge_config(vectors_config, sparse_vectors_config)
            path = self.root / collection_name
            if path.is_dir():
                try:
                    shard = qe.EdgeShard.load(str(path), config)
                except Exception as error:
                    if "incompatible" not in str(error).lower():
                        raise
                    raise RuntimeError(
                        f"Qdrant collection {collection_name!r} was made by an older Librarity or another "
                        "model; set QDRANT_COLLECTION to a new name (and re-ingest the books) or delete "
                        f"{path}"
                    ) from error
            else:
                shard = self._create(collection_name, config)
            for field in indexed_fields:  # a no-op when the index is there
                shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Integer))
            self._shards[collection_name] = shard

    def _create(self, name: str, config: qe.EdgeConfig) -> qe.EdgeShard:
        path = self.root / name
        self.root.mkdir(parents=True, exist_ok=True)
        old = self.local_mode_path
        if old is None or not (old / "collection" / name).is_dir():
            return qe.EdgeShard.create(str(path), config)
        # Copied into a side folder first, so that a copy cut short starts again at the next start.
        partial = self.root / f"{name}.migrating"
        shutil.rmtree(partial, ignore_errors=True)
        shard = qe.EdgeShard.create(str(partial), config)
        try:
            copy_local_mode(old, name, shard)
            shard.flush()
        finally:
            shard.close()
        partial.rename(path)
        logger.info("the vectors are in %s now; %s is no longer used and may be deleted", path, old)
        return qe.EdgeShard.load(str(path), config)

    def _shard(self, name: str) -> qe.EdgeShard:
        shard = self._shards.get(name)
        if shard is None:
            raise RuntimeError(f"the collection {name!r} is not open (open_collection first)")
        return shard

    # --- the qdrant-client calls SearchIndex makes ----------------------------------------------------

    def upsert(self, collection_name: str, points: list[models.PointStruct], wait: bool = True) -> None:
        edge_points = [qe.Point(str(p.id), _vector_in(p.vector), p.payload) for p in points]
        self._shard(collection_name).update(qe.UpdateOperation.upsert_points(edge_points))

    def update_vectors(
        self, collection_name: str, points: list[models.PointVectors], wait: bool = True
    ) -> None:
        vectors = [qe.PointVectors(str(p.id), _vector_in(p.vector)) for p in points]
        self._shard(collection_name).update(qe.UpdateOperation.update_vectors(vectors))

    def delete(self, collection_name: str, points_selector: models.FilterSelector, wait: bool = True) -> None:
        where = _filter_in(points_selector.filter)
        assert where is not None  # a FilterSelector always has one
        self._shard(collection_name).update(qe.UpdateOperation.delete_points_by_filter(where))

    def count(
        self, collection_name: str, count_filter: models.Filter, exact: bool = True
    ) -> models.CountResult:
        found = self._shard(collection_name).count(
            qe.CountRequest(exact=exact, filter=_filter_in(count_filter))
        )
        return models.CountResult(count=found)

    def scroll(
        self,
        collection_name: str,
        scroll_filter: models.Filter,
        limit: int = 10,
        offset: str | None = None,
        with_payload: bool = True,
        with_vectors: bool = False,
    ) -> tuple[list[models.Record], str | None]:
        request = qe.ScrollRequest(
            offset=offset,
            limit=limit,
            filter=_filter_in(scroll_filter),
            with_payload=with_payload,
            with_vector=with_vectors,
        )
        records, after = self._shard(collection_name).scroll(request)
        return [_record_out(r) for r in records], None if after is None else str(after)

    def retrieve(
        self, collection_name: str, ids: list[str], with_payload: bool = True
    ) -> list[models.Record]:
        records = self._shard(collection_name).retrieve(list(ids), with_payload, False)
        return [_record_out(r) for r in records]

    def query_batch_points(
        self, collection_name: str, requests: list[models.QueryRequest]
    ) -> list[QueryResponse]:
        batch = qe.QueryBatchRequest([_query_request_in(r) for r in requests])
        found = self._shard(collection_name).query_batch(batch)
        return [QueryResponse(points=[_scored_out(p) for p in points]) for points in found]

    def close(self) -> None:
        with self._lock:
            shards, self._shards = list(self._shards.values()), {}
        for shard in shards:
            shard.flush()
            shard.close()


def copy_local_mode(old: Path, name: str, shard: qe.EdgeShard) -> int:
    """Copy the collection `name` of qdrant-client's local mode folder `old` into the Edge shard."""
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(old))
    try:
        total = client.count(name, exact=True).count
        logger.info("copying %d points of %s from Qdrant local mode (%s) into Qdrant Edge", total, name, old)
        copied, offset = 0, None
        while True:
            records, offset = client.scroll(
                name, limit=MIGRATE_BATCH, offset=offset, with_payload=True, with_vectors=True
            )
            points = [qe.Point(str(r.id), _vector_in(r.vector), r.payload) for r in records]
            if points:
                shard.update(qe.UpdateOperation.upsert_points(points))
                copied += len(points)
                logger.info("copied %d / %d points of %s into Qdrant Edge", copied, total, name)
            if offset is None:
                return copied
    finally:
        client.close()


# --- translation between qdrant-client's models and Edge's ---------------------------------------------


def _edge_config(
    vectors: dict[str, models.VectorParams], sparse: dict[str, models.SparseVectorParams]
) -> qe.EdgeConfig:
    dense = {
        name: qe.EdgeVectorParams(
            size=params.size,
            distance=_DISTANCES[params.distance],
            multivector_config=(
                qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim) if params.multivector_config else None
            ),
        )
        for name, params in vectors.items()
    }
    sparse_params = {
        name: qe.EdgeSparseVectorParams(
            modifier=qe.Modifier.Idf if params.modifier == models.Modifier.IDF else None
        )
        for name, params in sparse.items()
    }
    return qe.EdgeConfig(vectors=dense, sparse_vectors=sparse_params, hnsw_config=_NO_GRAPH)


def _filter_in(where: models.Filter | None) -> qe.Filter | None:
    if where is None:
        return None
    return qe.Filter(
        must=_conditions_in(where.must),
        should=_conditions_in(where.should),
        must_not=_conditions_in(where.must_not),
    )


def _conditions_in(conditions: Any) -> list[Any] | None:
    if conditions is None:
        return None
    if not isinstance(conditions, list):
        conditions = [conditions]
    out: list[Any] = []
    for condition in conditions:
        if isinstance(condition, models.Filter):
            out.append(_filter_in(condition))
        elif isinstance(condition, models.FieldCondition) and isinstance(condition.match, models.MatchValue):
            out.append(qe.FieldCondition(condition.key, match=qe.MatchValue(condition.match.value)))
        elif isinstance(condition, models.FieldCondition) and isinstance(condition.match, models.MatchAny):
            out.append(qe.FieldCondition(condition.key, match=qe.MatchAny(condition.match.any)))
        elif isinstance(condition, models.FieldCondition) and isinstance(condition.range, models.Range):
            bounds = condition.range
            out.append(
                qe.FieldCondition(
                    condition.key,
                    range=qe.RangeFloat(lt=bounds.lt, gt=bounds.gt, lte=bounds.lte, gte=bounds.gte),
                )
            )
        else:
            raise TypeError(f"the Edge engine does not take this filter condition: {condition!r}")
    return out


def _vector_in(vector: Any) -> dict[str, Any]:
    if not isinstance(vector, dict):
        raise TypeError("the Edge engine takes named vectors only")
    return {name: _named_in(value) for name, value in vector.items()}


def _named_in(value: Any) -> Any:
    if isinstance(value, models.SparseVector):
        return qe.SparseVector(list(value.indices), list(value.values))
    if hasattr(value, "tolist"):  # a numpy array
        return value.tolist()
    return value


def _vector_out(vector: Any) -> Any:
    if not isinstance(vector, dict):
        return vector
    return {
        name: models.SparseVector(indices=list(value.indices), values=list(value.values))
        if isinstance(value, qe.SparseVector)
        else value
        for name, value in vector.items()
    }


def _query_in(query: Any, using: str | None) -> Any:
    if isinstance(query, models.FusionQuery):
        # qdrant-client's RRF constant (k=2), so both engines rank alike
        return qe.Fusion.Rrf(k=2) if query.fusion == models.Fusion.RRF else qe.Fusion.Dbsf()
    if isinstance(query, models.SparseVector):
        return qe.Query.Nearest(qe.SparseVector(list(query.indices), list(query.values)), using=using)
    if isinstance(query, list):
        return qe.Query.Nearest(query, using=using)
    raise TypeError(f"the Edge engine does not take this query: {type(query).__name__}")


def _prefetch_in(prefetch: models.Prefetch) -> qe.Prefetch:
    return qe.Prefetch(
        limit=prefetch.limit or 10,
        query=_query_in(prefetch.query, prefetch.using),
        filter=_filter_in(prefetch.filter),
    )


def _query_request_in(request: models.QueryRequest) -> qe.QueryRequest:
    prefetch = request.prefetch
    prefetches: Sequence[models.Prefetch] = (
        [] if prefetch is None else prefetch if isinstance(prefetch, list) else [prefetch]
    )
    return qe.QueryRequest(
        limit=request.limit or 10,
        query=_query_in(request.query, request.using),
        prefetches=[_prefetch_in(p) for p in prefetches] or None,
        filter=_filter_in(request.filter),
        with_payload=bool(request.with_payload),
        with_vector=False,
    )


def _scored_out(point: qe.ScoredPoint) -> models.ScoredPoint:
    # model_construct: Edge's results need no validation, and a search returns ~80 of them
    return models.ScoredPoint.model_construct(
        id=str(point.id), version=point.version, score=point.score, payload=point.payload, vector=None
    )


def _record_out(record: qe.Record) -> models.Record:
    return models.Record.model_construct(
        id=str(record.id),
        payload=record.payload,
        vector=_vector_out(record.vector),
        shard_key=None,
        order_value=None,
    )
