"""Request and response bodies of the collections API (they mirror the Python API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # semkit.analysis imports much more than the server needs at start-up
    from semkit.analysis.context import Context
    from semkit.search import WriteReport
    from semkit.types import Chunk, Document, Hit

Where = dict[str, Any]
_WHERE = "Metadata filter, Mongo-style: {field: value}, $eq $ne $gt $gte $lt $lte $in $nin $and $or $not $exists $contains"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Chunking(Strict):
    max_tokens: int | None = Field(
        None, ge=1, description="Tokens per chunk (default: the model's limit)"
    )
    overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks")
    truncate: bool = Field(False, description="Cut documents at the limit instead (MTEB's policy)")


class CreateCollection(Strict):
    name: str = Field(description="Letters, digits, '_', '-', '.'; up to 128 characters")
    model: str | None = Field(
        "default",
        description="A local model spec ('default', a directory, a cached Hugging Face name); "
        "null for a collection of your own vectors (then dims is their size)",
    )
    dims: int | None = Field(
        None, ge=1, description="Matryoshka size, or the vector size without a model"
    )
    metric: Literal["cosine", "dot", "euclidean"] | None = None
    index: Literal["auto", "exact", "hnsw"] | None = None
    chunking: Chunking | None = None


class CollectionInfo(BaseModel):
    """``Collection.info()``: these fields, and what the storage backend adds (sizes)."""

    model_config = ConfigDict(extra="allow")

    name: str
    documents: int
    vectors: int
    model: str | None
    model_id: str | None
    fingerprint: str | None
    dim: int
    dims: int | None
    metric: str
    normalize: bool
    chunking: dict[str, Any]
    index: str
    backend: str | None = None
    index_kind: str | None = None


class CollectionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CollectionInfo]


class DocumentIn(Strict):
    id: str | None = Field(
        None, description="Omitted: derived from the text (re-adding is a no-op)"
    )
    text: str | None = None
    metadata: dict[str, Any] | None = None
    embedding: list[float] | None = Field(
        None, description="Your own vector (collections without a model)"
    )


class WriteRequest(Strict):
    documents: list[DocumentIn] = Field(min_length=1)


class WriteResult(BaseModel):
    ids: list[str]
    written: int
    unchanged: int
    metadata_only: int
    embedded: int

    @classmethod
    def of(cls, report: WriteReport) -> WriteResult:
        return cls(
            ids=report.ids,
            written=report.written,
            unchanged=report.unchanged,
            metadata_only=report.metadata_only,
            embedded=report.embedded,
        )


class GetRequest(Strict):
    ids: list[str] | None = None
    where: Where | None = Field(None, description=_WHERE)
    limit: int = Field(100, ge=0)
    offset: int = Field(0, ge=0)


class DocumentOut(BaseModel):
    id: str
    text: str | None
    metadata: dict[str, Any]

    @classmethod
    def of(cls, doc: Document) -> DocumentOut:
        return cls(id=doc.id, text=doc.text, metadata=doc.metadata)


class DocumentList(BaseModel):
    object: Literal["list"] = "list"
    data: list[DocumentOut]


class DeleteRequest(Strict):
    ids: list[str] | None = None
    where: Where | None = Field(None, description=_WHERE)


class Deleted(BaseModel):
    deleted: int


class SearchRequest(Strict):
    query: str | list[float] = Field(description="A text, or a vector of the collection's size")
    k: int = Field(10, ge=1)
    where: Where | None = Field(None, description=_WHERE)
    mode: Literal["dense", "lexical", "hybrid"] = "dense"
    include: list[Literal["text", "metadata"]] = Field(default=["text", "metadata"])


class ChunkOut(BaseModel):
    text: str
    start: int
    end: int
    index: int

    @classmethod
    def of(cls, chunk: Chunk) -> ChunkOut:
        return cls(text=chunk.text, start=chunk.start, end=chunk.end, index=chunk.index)


class ChunksRequest(Strict):
    id: str = Field(description="A document id")


class ChunkList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ChunkOut]


class HitOut(BaseModel):
    id: str
    score: float
    text: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    chunk: ChunkOut | None = None

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        chunk = hit.chunk
        return cls(
            id=hit.id,
            score=hit.score,
            text=hit.text,
            metadata=hit.metadata,
            chunk=None if chunk is None else ChunkOut.of(chunk),
        )


class HitList(BaseModel):
    object: Literal["list"] = "list"
    data: list[HitOut]


class SimilarRequest(Strict):
    ids: list[str] = Field(min_length=1, description="Documents to find more like")
    negative_ids: list[str] = Field(default_factory=list, description="Documents to move away from")
    k: int = Field(10, ge=1)
    where: Where | None = Field(None, description=_WHERE)


class ContextRequest(Strict):
    query: str
    max_tokens: int = Field(ge=1, description="Token budget of the whole context (model tokenizer)")
    k: int | None = Field(10, ge=1, description="At most this many chunks")
    candidates: int | None = Field(
        None, ge=1, description="Search hits considered (default max(3k, 20))"
    )
    where: Where | None = Field(None, description=_WHERE)
    mode: Literal["dense", "lexical", "hybrid"] = "dense"


class ContextChunkOut(BaseModel):
    id: str
    start: int
    end: int
    text: str
    score: float
    rank: int


class ContextOut(BaseModel):
    text: str
    tokens: int
    max_tokens: int
    chunks: list[ContextChunkOut]
    candidates: int
    skipped: dict[str, int]
    note: str | None

    @classmethod
    def of(cls, ctx: Context) -> ContextOut:
        return cls(
            text=ctx.text,
            tokens=ctx.tokens,
            max_tokens=ctx.max_tokens,
            chunks=[
                ContextChunkOut(
                    id=c.id, start=c.start, end=c.end, text=c.text, score=c.score, rank=c.rank
                )
                for c in ctx.chunks
            ],
            candidates=ctx.candidates,
            skipped=dict(ctx.skipped),
            note=ctx.note,
        )
