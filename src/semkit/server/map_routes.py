"""Map routes of the web UI: a collection's 2-D map, and places on it.

``GET /v1/collections/{name}/map`` gives the drawn points (a seeded sample of at most
10,000 documents) with coordinates in [0, 1], short snippets, k-means clusters named by
keywords and the metadata fields with few distinct values, as parallel columns.
``POST /v1/collections/{name}/map/place`` puts documents (drawn or not) and a query on
the same map. Everything else the UI shows comes from the collections API.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from semkit.analysis.collection_map import CollectionMap, ColourGroups
from semkit.server.auth import READ
from semkit.server.errors import READ_ERRORS
from semkit.server.schemas import Strict
from semkit.server.state import state_of

router = APIRouter(prefix="/v1/collections", tags=["Maps"])

Method = Literal["auto", "umap", "pca", "tsne"]
MAX_PLACE = 1000


def _rounded(values: object) -> list[float] | list[list[float]]:
    """Map coordinates as sent: float64, 5 decimals (a thousandth of a pixel on screen)."""
    out: list[float] | list[list[float]] = np.round(np.asarray(values, np.float64), 5).tolist()
    return out


class Groups(BaseModel):
    names: list[str]
    codes: list[int] = Field(description="Per point: an index into names, -1 for none")

    @classmethod
    def of(cls, groups: ColourGroups) -> Groups:
        return cls(names=groups.names, codes=groups.codes)


class MapOut(BaseModel):
    version: str = Field(description="The collection version the map was computed for")
    method: str = Field(description="umap, pca or tsne")
    pending: str | None = Field(
        None, description="A better map being computed (method=auto); ask again later"
    )
    total: int = Field(description="Documents in the collection (the map draws a sample)")
    ids: list[str]
    x: list[float]
    y: list[float]
    snippets: list[str]
    clusters: Groups
    fields: dict[str, Groups]

    @classmethod
    def of(cls, m: CollectionMap, pending: str | None) -> MapOut:
        return cls(
            version=m.version,
            method=m.method,
            pending=pending,
            total=m.total,
            ids=m.ids,
            x=cast(list[float], _rounded(m.coords[:, 0])),
            y=cast(list[float], _rounded(m.coords[:, 1])),
            snippets=m.snippets,
            clusters=Groups.of(m.clusters),
            fields={name: Groups.of(g) for name, g in m.fields.items()},
        )


class PlaceRequest(Strict):
    ids: list[str] = Field(default_factory=list, max_length=MAX_PLACE)
    query: str | None = Field(None, description="A text placed by its embedding")
    method: Method = "auto"
    clusters: int = Field(8, ge=2, le=40)


class Placed(BaseModel):
    points: dict[str, list[float]] = Field(description="id: [x, y]; unknown ids left out")
    query: list[float] | None = None


@router.get("/{name}/map", dependencies=[READ], response_model=MapOut, responses=READ_ERRORS)
async def collection_map(
    name: str,
    request: Request,
    method: Method = "auto",
    clusters: int = Query(8, ge=2, le=40),
) -> MapOut:
    """The collection's map; ``auto``: UMAP once computed, PCA until then (``pending``)."""
    state = state_of(request)
    found, pending = await state.database.read(state.maps.get, name, method, clusters)
    return MapOut.of(found, pending)


@router.post("/{name}/map/place", dependencies=[READ], response_model=Placed, responses=READ_ERRORS)
async def place(name: str, body: PlaceRequest, request: Request) -> Placed:
    """Where documents and a query fall on the collection's map (same method and clusters
    as the map being shown)."""
    state = state_of(request)

    def run() -> Placed:
        found, _ = state.maps.get(name, body.method, body.clusters)
        coll = state.database.collection(name)
        points = {i: _rounded(xy) for i, xy in found.locate(coll, body.ids).items()}
        query = None
        if body.query is not None and coll.embedder is not None and body.query.strip():
            vector = coll.embedder.encode([body.query], kind="query", truncate=True)
            query = _rounded(found.place(vector)[0])
        return Placed(points=points, query=query)  # type: ignore[arg-type]

    with state.admission.admit(1):
        return await state.database.read(run)
