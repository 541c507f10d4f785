// The console JSON API (handoff/openapi.json): one fetch wrapper that adds the
// CSRF header, turns every failure into an ApiError whose message is a
// sentence for the counsellor, and reports a lost session once.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const FALLBACK = {
  0: "The console cannot reach the server. Check the network connection; it keeps trying.",
  400: "The server did not accept this. Check what you entered and try again.",
  401: "Your session has ended. Please sign in again.",
  403: "You are not allowed to do this.",
  404: "This conversation no longer exists: she may have left, or it has expired.",
  409: "Someone else changed this conversation at the same moment. It has been reloaded.",
  429: "Too many attempts. Wait a few minutes and try again.",
  503: "The server is busy. Try again in a moment.",
};

let csrfToken = "";
let onSessionLost = () => {};

export function setCsrfToken(token) {
  csrfToken = token || "";
}

/** `handler(sentence)` runs when any call answers 401 (the session ended). */
export function whenSessionLost(handler) {
  onSessionLost = handler;
}

/** Call `path` under /console/api; resolves to the parsed JSON body. */
export async function api(method, path, body) {
  return (await call(method, path, body)).data;
}

/** GET `path`: {data, headers} (the queue's counts come as headers). */
export async function getWithHeaders(path) {
  const { data, response } = await call("GET", path);
  return { data, headers: response.headers };
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(`/console/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, FALLBACK[0]);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return { data, response };
  const message = (data && typeof data.error === "string" && data.error) || FALLBACK[response.status] ||
    `The server answered with an error (${response.status}). Try again; if it persists, tell the operator.`;
  if (response.status === 401 && path !== "/login") onSessionLost(message);
  throw new ApiError(response.status, message);
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
