// The page: pick a collection, search it, read documents, explore its map.
// Every call goes through the collections API (api.js); the map routes add coordinates.

import { api, ApiError, getKey, setKey } from "./api.js";
import { DocumentView } from "./doc.js";
import { el, excerpt, metadataList } from "./dom.js";
import { MapView } from "./map.js";

const $ = (sel) => document.querySelector(sel);
const NEIGHBOURS = 10;
const RETRY_MS = 3000;

const state = {
  collection: null,
  results: [], // hits shown in the list
  selected: -1,
  map: null, // the map payload being drawn
  mapRequest: 0, // newest map request (older answers are dropped)
  lastQuery: null, // {query, hits} of the last search, re-placed when the map changes
};

const mapView = new MapView($("#map"), $("#tooltip"), $("#legend"), { onClick: showNeighbours });
const docView = new DocumentView($("#doc"), { onMore: moreLikeThis, onError: report });

// --- status -------------------------------------------------------------------------------
function status(text, error = false) {
  const box = $("#status");
  box.textContent = text;
  box.classList.toggle("error", error);
}

function report(err) {
  status(err.message, true);
  if (err instanceof ApiError && err.status === 401) openKeyForm();
}

// --- collections --------------------------------------------------------------------------
async function loadCollections() {
  let infos;
  try {
    infos = await api.collections();
  } catch (err) {
    report(err);
    return;
  }
  const select = $("#collection");
  select.replaceChildren(...infos.map((i) => el("option", { value: i.name }, i.name)));
  if (infos.length === 0) {
    status("This database has no collections yet: add some with `semkit add`.");
    return;
  }
  const wanted = new URLSearchParams(location.search).get("collection");
  const chosen = infos.find((i) => i.name === wanted) || infos[0];
  select.value = chosen.name;
  selectCollection(chosen);
  select.onchange = () => selectCollection(infos.find((i) => i.name === select.value));
}

function selectCollection(info) {
  state.collection = info.name;
  state.results = [];
  state.lastQuery = null;
  renderResults([], "");
  docView.close();
  $("#neighbours").hidden = true;
  const model = info.model === null ? "own vectors" : info.model_id || info.model;
  $("#coll-info").textContent = `${info.documents.toLocaleString()} documents · ${model} · ${info.metric}`;
  const url = new URL(location.href);
  url.searchParams.set("collection", info.name);
  history.replaceState(null, "", url);
  status("");
  document.body.dataset.ready = "1";
  performance.mark("semkit:ready");
  loadMap();
}

// --- search -------------------------------------------------------------------------------
function readWhere() {
  const text = $("#where").value.trim();
  if (!text) return null;
  try {
    const where = JSON.parse(text);
    if (typeof where !== "object" || Array.isArray(where) || where === null) throw new Error();
    $("#where").classList.remove("invalid");
    return where;
  } catch {
    $("#where").classList.add("invalid");
    throw new Error('the filter must be a JSON object, e.g. {"category": "Sports"}');
  }
}

async function search(event) {
  event?.preventDefault();
  const query = $("#query").value.trim();
  if (!query || !state.collection) return;
  let where;
  try {
    where = readWhere();
  } catch (err) {
    report(err);
    return;
  }
  const body = { query, k: Number($("#k").value) || 10, mode: $("#mode").value };
  if (where) body.where = where;
  status("Searching…");
  const started = performance.now();
  performance.mark("semkit:search");
  let hits;
  try {
    hits = await api.search(state.collection, body);
  } catch (err) {
    report(err);
    return;
  }
  const ms = Math.round(performance.now() - started);
  status("");
  renderResults(hits, `${hits.length} result${hits.length === 1 ? "" : "s"} · ${body.mode} · ${ms} ms`);
  document.body.dataset.searches = String(Number(document.body.dataset.searches || 0) + 1);
  performance.measure("semkit:results", "semkit:search");
  state.lastQuery = { query, ids: hits.map((h) => h.id) };
  placeQuery();
}

function renderResults(hits, note) {
  state.results = hits;
  state.selected = -1;
  $("#result-note").textContent = note;
  $("#results").replaceChildren(...hits.map(resultItem));
}

function resultItem(hit, rank) {
  const text = hit.text || "";
  const body = hit.chunk
    ? excerpt(text, hit.chunk.start, hit.chunk.end)
    : [text.length > 400 ? text.slice(0, 400) + "…" : text];
  const item = el(
    "li",
    { class: "result", tabIndex: 0, dataset: { id: hit.id } },
    el(
      "div",
      { class: "result-head" },
      el("span", { class: "rank" }, `${rank + 1}.`),
      el("span", { class: "score", title: "score (higher is better)" }, hit.score.toFixed(4)),
      el("span", { class: "id" }, hit.id),
      hit.chunk ? el("span", { class: "muted" }, `chunk #${hit.chunk.index}`) : null,
    ),
    el("p", { class: "excerpt" }, ...body),
    metadataList(hit.metadata),
  );
  item.addEventListener("click", () => openResult(rank));
  item.addEventListener("focus", () => select(rank, false));
  item.addEventListener("keydown", (e) => {
    if (e.key === "Enter") openResult(rank);
  });
  return item;
}

function select(rank, focus = true) {
  const items = $("#results").children;
  if (rank < 0 || rank >= items.length) return;
  items[state.selected]?.classList.remove("selected");
  state.selected = rank;
  items[rank].classList.add("selected");
  if (focus) items[rank].focus();
}

function openResult(rank) {
  select(rank, false);
  const hit = state.results[rank];
  docView.open(state.collection, hit.id, hit.chunk);
}

async function moreLikeThis(id) {
  status("Finding similar documents…");
  try {
    const hits = await api.moreLikeThis(state.collection, [id], Number($("#k").value) || 10);
    status("");
    docView.close();
    renderResults(hits, `More like ${id}`);
    select(0);
    showSelection(id, hits);
  } catch (err) {
    report(err);
  }
}

// --- map ----------------------------------------------------------------------------------
// poll: ask again for a map still being computed (the one drawn stays until it is ready)
async function loadMap(poll = false) {
  const request = poll ? state.mapRequest : ++state.mapRequest;
  const collection = state.collection;
  const method = $("#method").value;
  if (!poll) {
    delete $("#map-pane").dataset.map;
    $("#map-note").textContent = "computing the map…";
  }
  let map;
  try {
    map = await api.map(collection, method);
  } catch (err) {
    if (request !== state.mapRequest) return;
    $("#map-note").textContent = err.message;
    mapView.setData({ ids: [], x: [], y: [], snippets: [], clusters: { names: [], codes: [] }, fields: {} });
    mapView.setColour("cluster");
    return;
  }
  if (request !== state.mapRequest) return;
  const same = state.map && state.map.method === map.method && state.map.version === map.version;
  if (!(poll && same)) showMap(map); // a poll redraws only when the map changed
  if (map.pending) {
    setTimeout(() => {
      if (request === state.mapRequest) loadMap(true);
    }, RETRY_MS);
  }
}

function showMap(map) {
  const colour = $("#colour-by");
  const previous = colour.value;
  state.map = map;
  mapView.setData(map);
  const names = ["cluster", ...Object.keys(map.fields)];
  colour.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
  colour.value = names.includes(previous) ? previous : names.length > 1 ? names[1] : "cluster";
  mapView.setColour(colour.value);
  const drawn = map.ids.length;
  const sample = drawn < map.total ? ` (a sample of ${drawn.toLocaleString()})` : "";
  const pending = map.pending ? ` · computing ${map.pending.toUpperCase()}…` : "";
  $("#map-note").textContent = `${map.method.toUpperCase()} · ${map.total.toLocaleString()} documents${sample}${pending}`;
  $("#map-pane").dataset.map = map.pending ? "preview" : "ready";
  requestAnimationFrame(() => performance.mark(`semkit:map:${map.method}`)); // after the draw
  $("#map-pane").dataset.method = map.method;
  $("#neighbours").hidden = true;
  placeQuery();
}

async function placeQuery() {
  const last = state.lastQuery;
  if (!last || !state.map || state.map.ids.length === 0) return;
  const map = state.map;
  try {
    const placed = await api.place(state.collection, {
      ids: last.ids,
      query: last.query,
      method: map.method,
    });
    if (state.map !== map || state.lastQuery !== last) return;
    const hits = last.ids.filter((id) => placed.points[id]).map((id) => ({ id, xy: placed.points[id] }));
    mapView.setQuery({ xy: placed.query, hits });
    $("#map-pane").dataset.query = String(hits.length);
  } catch (err) {
    report(err);
  }
}

async function showNeighbours(row) {
  const id = state.map.ids[row];
  try {
    const hits = await api.moreLikeThis(state.collection, [id], NEIGHBOURS);
    showSelection(id, hits);
  } catch (err) {
    report(err);
  }
}

async function showSelection(id, hits) {
  const map = state.map;
  if (!map || map.ids.length === 0) return;
  let placed;
  try {
    placed = await api.place(state.collection, { ids: [id, ...hits.map((h) => h.id)], method: map.method });
  } catch (err) {
    report(err);
    return;
  }
  if (state.map !== map) return;
  const neighbours = hits.filter((h) => placed.points[h.id]).map((h) => ({ id: h.id, xy: placed.points[h.id] }));
  mapView.setSelection({ id, xy: placed.points[id], neighbours });
  $("#neighbours-of").replaceChildren(
    el("button", { type: "button", class: "link", onclick: () => docView.open(state.collection, id) }, id),
  );
  $("#neighbour-list").replaceChildren(
    ...hits.map((h) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "link", onclick: () => docView.open(state.collection, h.id, h.chunk) },
          h.id,
        ),
        el("span", { class: "score" }, ` ${h.score.toFixed(3)} `),
        el("span", { class: "muted" }, (h.text || "").slice(0, 120)),
      ),
    ),
  );
  $("#neighbours").hidden = false;
  $("#map-pane").dataset.selected = id;
}

// --- key and help -------------------------------------------------------------------------
function openKeyForm() {
  const form = $("#key-form");
  form.hidden = false;
  $("#key-input").value = getKey();
  $("#key-input").focus();
}

function closePopovers() {
  $("#key-form").hidden = true;
  $("#help").hidden = true;
}

$("#key-button").addEventListener("click", () => ($("#key-form").hidden ? openKeyForm() : closePopovers()));
$("#help-button").addEventListener("click", () => ($("#help").hidden = !$("#help").hidden));
$("#key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setKey($("#key-input").value.trim());
  closePopovers();
  loadCollections();
});
$("#key-clear").addEventListener("click", () => {
  setKey("");
  $("#key-input").value = "";
});

// --- wiring -------------------------------------------------------------------------------
$("#search-form").addEventListener("submit", search);
$("#where").addEventListener("keydown", (e) => {
  if (e.key === "Enter") search(e);
});
$("#colour-by").addEventListener("change", () => mapView.setColour($("#colour-by").value));
$("#method").addEventListener("change", () => loadMap());

document.addEventListener("keydown", (e) => {
  const typing = e.target.matches("input, select, textarea");
  if (e.key === "ArrowDown" && e.target.id === "query" && state.results.length) {
    e.preventDefault();
    select(0);
    return;
  }
  if (e.key === "Escape") {
    if (!$("#key-form").hidden || !$("#help").hidden) closePopovers();
    else if (docView.isOpen) docView.close();
    else if (typing) e.target.blur();
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "/") {
    e.preventDefault();
    $("#query").focus();
    $("#query").select();
  } else if (e.key === "j" || (e.key === "ArrowDown" && e.target.closest("#results"))) {
    e.preventDefault();
    select(Math.min(state.selected + 1, state.results.length - 1));
  } else if (e.key === "k" || (e.key === "ArrowUp" && e.target.closest("#results"))) {
    e.preventDefault();
    select(Math.max(state.selected - 1, 0));
  } else if (e.key === "m" && docView.isOpen) {
    docView.more();
  } else if (e.key === "g") {
    $("#map").focus();
  } else if (e.key === "?") {
    $("#help").hidden = !$("#help").hidden;
  }
});

window.semkit = { state, mapView }; // for the console (and the browser tests)
loadCollections();
