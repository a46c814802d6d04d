// Calls to the semkit server: the collections API and the map routes.
// The API key (if the server has keys) lives in this tab's sessionStorage only.

const KEY = "semkit.apiKey";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

async function call(method, path, body) {
  const headers = {};
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `the server did not answer (${err.message})`);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = data?.error?.message || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

const coll = (name) => `/v1/collections/${encodeURIComponent(name)}`;

export const api = {
  collections: () => call("GET", "/v1/collections").then((r) => r.data),
  search: (name, body) => call("POST", `${coll(name)}/search`, body).then((r) => r.data),
  get: (name, ids) => call("POST", `${coll(name)}/get`, { ids }).then((r) => r.data),
  chunks: (name, id) => call("POST", `${coll(name)}/chunks`, { id }).then((r) => r.data),
  moreLikeThis: (name, ids, k, where) =>
    call("POST", `${coll(name)}/more_like_this`, { ids, k, where: where || undefined }).then(
      (r) => r.data,
    ),
  map: (name, method) => call("GET", `${coll(name)}/map?method=${encodeURIComponent(method)}`),
  place: (name, body) => call("POST", `${coll(name)}/map/place`, body),
};
