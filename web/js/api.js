// HTTP: entry, session, communes, leave. Every call resolves to {ok, status, data};
// a network failure resolves to {ok: false, status: 0}.

import { currentLang } from './i18n.js';
import * as pow from './pow.js';

async function request(method, path, body) {
  const headers = { Accept: 'application/json', 'Accept-Language': currentLang() };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, data: null };
  }
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = null; }
  }
  return { ok: response.ok, status: response.status, data };
}

/** The errors of a refusal, as a list of {code, field, message, part}. */
export function errorsOf(result) {
  const data = result.data || {};
  if (Array.isArray(data.errors) && data.errors.length) return data.errors;
  if (data.error) return [data.error];
  return [];
}

export function communes(postcode) {
  return request('GET', `/api/communes?postcode=${encodeURIComponent(postcode)}`);
}

export async function enter(form) {
  const solution = await pow.take();
  return request('POST', '/api/entry', solution ? { ...form, pow: solution } : form);
}

/** Starts the anti-bot check early, so entering feels instant. */
export function prepareEntry() {
  pow.prepare();
}

export function session() {
  return request('GET', '/api/session');
}

export function leave() {
  return request('POST', '/api/leave');
}
