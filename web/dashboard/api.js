/** Calls to the server API with the stored credential. */

const TOKEN_KEY = 'agent-bus.token';

export function getToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token === '') window.sessionStorage.removeItem(TOKEN_KEY);
    else window.sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (private mode): the token lives only in this page then.
  }
  memoryToken = token;
}

let memoryToken = getToken();

export function authHeaders() {
  return memoryToken === '' ? {} : { authorization: `Bearer ${memoryToken}` };
}

/** An answer: { ok, status, body } — never throws for HTTP errors; `status` 0 when the server cannot be reached. */
export async function api(method, path, body) {
  const init = { method, headers: { accept: 'application/json', ...authHeaders() } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { ok: false, status: 0, body: { error: { code: 'UNREACHABLE', message: `the server cannot be reached (${error.message})` } } };
  }
  let parsed = null;
  const text = await response.text();
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { text };
    }
  }
  return { ok: response.ok, status: response.status, body: parsed };
}

/** "CODE: message" of an error answer. */
export function describeError(answer) {
  const e = answer.body?.error;
  if (e !== undefined) return `${e.code}: ${e.message}`;
  return `HTTP ${answer.status}`;
}
