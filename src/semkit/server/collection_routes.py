"""The collections API: ``/v1/collections/...``, the Python API over HTTP.

Each route parses, calls the library, and formats; semantics and errors are the library's
(an unknown collection or document is 404, any other mistake 400). Writes run on the
database's one writer thread and are all or nothing: a request holds at most
``max_documents`` documents, which the library checks completely before it commits them
in one batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from semkit.errors import InputError
from semkit.search import Collection
from semkit.server.auth import READ, WRITE
from semkit.server.errors import READ_ERRORS, WRITE_ERRORS
from semkit.server.schemas import (
    ChunkList,
    ChunkOut,
    ChunksRequest,
    CollectionInfo,
    CollectionList,
    ContextOut,
    ContextRequest,
    CreateCollection,
    Deleted,
    DeleteRequest,
    DocumentList,
    DocumentOut,
    GetRequest,
    HitList,
    HitOut,
    SearchRequest,
    SimilarRequest,
    WriteRequest,
    WriteResult,
)
from semkit.server.state import ServerState, state_of

router = APIRouter(prefix="/v1/collections", tags=["Collections"])


def _float32(values: list[Any], what: str) -> np.ndarray:
    """JSON numbers as float32, refusing what float32 cannot hold (never a silent inf)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"{what}: vectors of different lengths ({exc})") from exc
    if not np.isfinite(arr).all() or (np.abs(arr) > np.finfo(np.float32).max).any():
        raise InputError(f"{what}: every value must be a finite number within float32's range")
    return arr.astype(np.float32)


def _limit(state: ServerState, what: str, n: int) -> None:
    if n > state.settings.max_results:
        raise InputError(
            f"{what}={n} is more than the {state.settings.max_results} results this server "
            f"returns per request"
        )


@router.get("", dependencies=[READ], response_model=CollectionList, responses=READ_ERRORS)
async def list_collections(request: Request) -> CollectionList:
    db = state_of(request).database

    def infos() -> list[dict[str, Any]]:
        return [db.collection(name).info() for name in db.names()]

    return CollectionList(data=[CollectionInfo(**i) for i in await db.read(infos)])


@router.post(
    "",
    dependencies=[WRITE],
    response_model=CollectionInfo,
    responses={**WRITE_ERRORS, 201: {"description": "Created"}},
    status_code=200,
    summary="Open or create a collection (as semkit.open(...).collection does)",
)
async def create_collection(
    body: CreateCollection, request: Request, response: Response
) -> CollectionInfo:
    db = state_of(request).database
    options: dict[str, Any] = {}
    if "model" in body.model_fields_set:  # null: a collection of your own vectors
        options["model"] = body.model
    if body.dims is not None:
        options["dims"] = body.dims
    if body.metric is not None:
        options["metric"] = body.metric

    def create() -> tuple[dict[str, Any], bool]:
        coll, created = db.create(
            body.name,
            index=body.index,
            chunking=body.chunking.model_dump() if body.chunking else None,
            **options,
        )
        return coll.info(), created

    info, created = await db.write(create)
    response.status_code = 201 if created else 200
    return CollectionInfo(**info)


@router.get("/{name}", dependencies=[READ], response_model=CollectionInfo, responses=READ_ERRORS)
async def collection_info(name: str, request: Request) -> CollectionInfo:
    db = state_of(request).database
    return CollectionInfo(**await db.read(lambda: db.collection(name).info()))


@router.delete("/{name}", dependencies=[WRITE], response_model=Deleted, responses=WRITE_ERRORS)
async def drop_collection(name: str, request: Request) -> Deleted:
    db = state_of(request).database

    def drop() -> int:
        count = db.collection(name).count()
        db.drop(name)
        return count

    return Deleted(deleted=await db.write(drop))


async def _write(name: str, body: WriteRequest, request: Request, *, replace: bool) -> WriteResult:
    state = state_of(request)
    docs = body.documents
    if len(docs) > state.settings.max_documents:
        raise InputError(
            f"{len(docs)} documents in one request; this server takes at most "
            f"{state.settings.max_documents} per request (each is one all-or-nothing batch)"
        )
    texts = [d.text for d in docs]
    ids = [d.id for d in docs]
    vectors = [d.embedding for d in docs]
    metadatas = [d.metadata for d in docs]
    for what, values in (("text", texts), ("id", ids), ("embedding", vectors)):
        if any(v is None for v in values) and any(v is not None for v in values):
            raise InputError(f"give every document a {what}, or none of them")

    def write() -> WriteResult:
        coll = state.database.collection(name)
        method = coll.upsert if replace else coll.add
        report = method(
            None if texts[0] is None else texts,  # type: ignore[arg-type]
            ids=None if ids[0] is None else ids,  # type: ignore[arg-type]
            metadatas=metadatas,
            embeddings=None if vectors[0] is None else _float32(vectors, "embeddings"),
        )
        return WriteResult.of(report)

    with state.admission.admit(len(docs)):
        return await state.database.write(write)


@router.post(
    "/{name}/add", dependencies=[WRITE], response_model=WriteResult, responses=WRITE_ERRORS
)
async def add(name: str, body: WriteRequest, request: Request) -> WriteResult:
    """Add new documents; an identical one again is a no-op, a changed one needs upsert."""
    return await _write(name, body, request, replace=False)


@router.post(
    "/{name}/upsert", dependencies=[WRITE], response_model=WriteResult, responses=WRITE_ERRORS
)
async def upsert(name: str, body: WriteRequest, request: Request) -> WriteResult:
    """Insert or replace documents; unchanged text is never embedded again."""
    return await _write(name, body, request, replace=True)


@router.post("/{name}/get", dependencies=[READ], response_model=DocumentList, responses=READ_ERRORS)
async def get(name: str, body: GetRequest, request: Request) -> DocumentList:
    """Documents by id (in the order given, missing ids skipped), by filter, or all, paged."""
    state = state_of(request)
    _limit(state, "limit", body.limit)

    def read() -> list[DocumentOut]:
        docs = state.database.collection(name).get(
            ids=body.ids, where=body.where, limit=body.limit, offset=body.offset
        )
        return [DocumentOut.of(d) for d in docs]

    return DocumentList(data=await state.database.read(read))


@router.post("/{name}/chunks", dependencies=[READ], response_model=ChunkList, responses=READ_ERRORS)
async def chunks(name: str, body: ChunksRequest, request: Request) -> ChunkList:
    """The chunks a document was embedded as, with their character offsets (404 if the
    document does not exist)."""
    db = state_of(request).database

    def read() -> ChunkList:
        found = db.collection(name).chunks(body.id)
        return ChunkList(data=[ChunkOut.of(c) for c in found])

    return await db.read(read)


@router.post("/{name}/delete", dependencies=[WRITE], response_model=Deleted, responses=WRITE_ERRORS)
async def delete(name: str, body: DeleteRequest, request: Request) -> Deleted:
    """Delete documents by id and/or filter."""
    db = state_of(request).database
    return Deleted(
        deleted=await db.write(lambda: db.collection(name).delete(ids=body.ids, where=body.where))
    )


def _hits(hits: Any) -> HitList:
    return HitList(data=[HitOut.of(h) for h in hits])


@router.post("/{name}/search", dependencies=[READ], response_model=HitList, responses=READ_ERRORS)
async def search(name: str, body: SearchRequest, request: Request) -> HitList:
    """The k best documents for a text or a vector: dense, lexical (BM25) or hybrid."""
    state = state_of(request)
    _limit(state, "k", body.k)
    query: Any = body.query
    if isinstance(query, list):
        query = _float32(query, "query vector")

    def run() -> HitList:
        coll: Collection = state.database.collection(name)
        return _hits(
            coll.search(query, k=body.k, where=body.where, mode=body.mode, include=body.include)
        )

    with state.admission.admit(1):
        return await state.database.read(run)


@router.post(
    "/{name}/more_like_this",
    dependencies=[READ],
    response_model=HitList,
    responses=READ_ERRORS,
)
async def more_like_this(name: str, body: SimilarRequest, request: Request) -> HitList:
    """Documents like ``ids`` and unlike ``negative_ids``; the given ones are left out."""
    state = state_of(request)
    _limit(state, "k", body.k)

    def run() -> HitList:
        coll = state.database.collection(name)
        return _hits(coll.more_like_this(body.ids, body.negative_ids, k=body.k, where=body.where))

    return await state.database.read(run)


@router.post(
    "/{name}/context", dependencies=[READ], response_model=ContextOut, responses=READ_ERRORS
)
async def context(name: str, body: ContextRequest, request: Request) -> ContextOut:
    """RAG context: the best chunks for a question within a token budget, each cited."""
    from semkit.analysis.context import build_context

    state = state_of(request)
    for what, n in (("k", body.k), ("candidates", body.candidates)):
        if n is not None:
            _limit(state, what, n)

    def run() -> ContextOut:
        coll = state.database.collection(name)
        ctx = build_context(
            coll,
            body.query,
            body.max_tokens,
            k=body.k,
            candidates=body.candidates,
            where=body.where,
            mode=body.mode,
        )
        return ContextOut.of(ctx)

    with state.admission.admit(1):
        return await state.database.read(run)
