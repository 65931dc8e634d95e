// Test harness for driving the published librechat-data-provider request
// layer from Node against a running server.
//
// The package is written for the browser:
//   - it builds origin-relative URLs ("/api/user"), so the harness points the
//     package's axios instance at the server with axios.defaults.baseURL;
//   - it installs its auth interceptors (proactive refresh, refresh on 401)
//     only when a global `window` exists, so the harness installs a minimal
//     window (event target, location, localStorage, atob) before loading it;
//   - the browser keeps the httpOnly refresh cookie; Node has no cookie jar, so
//     the harness adds one with axios interceptors;
//   - in the browser, axios (XHR) answers responseType "blob" with a Blob;
//     axios's Node adapter decodes the body as UTF-8 text instead, which
//     corrupts binary downloads, so the harness receives such bodies as bytes
//     and hands the package a Blob of them, typed by the Content-Type.
// None of this changes what the package sends or how it reacts to responses.

import assert from 'node:assert/strict';

/** Returns the base URL from the environment variable `name`, without a trailing slash. */
export function requireBaseURL(name = 'BASE_URL') {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run local/testdata/contract/run.sh, which starts the runner and sets it`);
  }
  return v.replace(/\/+$/, '');
}

class FakeLocation {
  constructor(origin) {
    this.origin = origin;
    this.pathname = '/c/new';
    this.search = '';
    this.hash = '';
    /** Every full-page navigation the package asked for (e.g. redirect to /login). */
    this.navigations = [];
  }
  get href() {
    return this.origin + this.pathname + this.search + this.hash;
  }
  set href(v) {
    this.navigations.push(String(v));
  }
}

class MemoryStorage {
  #m = new Map();
  getItem(k) {
    return this.#m.has(k) ? this.#m.get(k) : null;
  }
  setItem(k, v) {
    this.#m.set(k, String(v));
  }
  removeItem(k) {
    this.#m.delete(k);
  }
  clear() {
    this.#m.clear();
  }
}

function installWindow(origin) {
  if (globalThis.window) {
    return globalThis.window;
  }
  const win = new EventTarget();
  win.location = new FakeLocation(origin);
  win.localStorage = new MemoryStorage();
  win.atob = (s) => globalThis.atob(s);
  /** Events the package dispatched, in order: {type, detail}. */
  win.events = [];
  for (const type of ['tokenUpdated', 'authRecovery', 'authRedirectStarted']) {
    win.addEventListener(type, (e) => win.events.push({ type, detail: e.detail }));
  }
  globalThis.window = win;
  return win;
}

/** A cookie jar for one origin: what a browser would keep for the SPA's host. */
export class CookieJar {
  #cookies = new Map(); // name -> {value, path, attrs: {lowercased name: value|true}}

  /** Applies one Set-Cookie header value. */
  store(header) {
    const parts = header.split(';').map((s) => s.trim());
    const first = parts.shift();
    const eq = first.indexOf('=');
    if (eq <= 0) return;
    const name = first.slice(0, eq).trim();
    const value = first.slice(eq + 1).trim();
    const attrs = {};
    for (const p of parts) {
      if (!p) continue;
      const i = p.indexOf('=');
      if (i < 0) attrs[p.toLowerCase()] = true;
      else attrs[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
    }
    let expired = false;
    if (attrs['max-age'] !== undefined && attrs['max-age'] !== true) {
      expired = Number(attrs['max-age']) <= 0;
    } else if (typeof attrs.expires === 'string') {
      const t = Date.parse(attrs.expires);
      expired = Number.isFinite(t) && t <= Date.now();
    }
    if (expired) {
      this.#cookies.delete(name);
      return;
    }
    const path = typeof attrs.path === 'string' && attrs.path.startsWith('/') ? attrs.path : '/';
    this.#cookies.set(name, { value, path, attrs });
  }

  /** The Cookie header a browser would send for `pathname`, or '' if none. */
  headerFor(pathname) {
    const out = [];
    for (const [name, c] of this.#cookies) {
      const p = c.path;
      if (pathname === p || pathname.startsWith(p.endsWith('/') ? p : p + '/')) {
        out.push(`${name}=${c.value}`);
      }
    }
    return out.join('; ');
  }

  get(name) {
    return this.#cookies.get(name);
  }
  set(name, value, path = '/') {
    this.#cookies.set(name, { value, path, attrs: {} });
  }
  delete(name) {
    this.#cookies.delete(name);
  }
  names() {
    return [...this.#cookies.keys()];
  }
}

function pathOf(config) {
  const u = new URL(config.url, config.baseURL || 'http://invalid');
  return { pathname: u.pathname, path: u.pathname + u.search };
}

function headerValue(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') {
    const v = headers.get(name);
    if (v !== undefined && v !== null) return String(v);
  }
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : String(headers[key]);
}

function setCookieHeaders(headers) {
  const v = headers?.['set-cookie'];
  if (!v) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * Loads the package with a browser-like global and connects its axios
 * instance to `baseURL`. Call once per test file (each file runs in its own
 * process under `node --test`, so the package's global state is per file).
 *
 * Returns:
 *   dp      the package's exports (dp.dataService, dp.setTokenHeader, ...)
 *   axios   the axios instance the package sends with
 *   jar     the cookie jar
 *   log     every request that reached the wire: {method, path, status, cookie, authorization, data}
 *   win     the fake window (win.events, win.location.navigations)
 */
export async function loadClient(baseURL) {
  const win = installWindow(baseURL);

  // The package imports the default export of "axios" and sends every request
  // through it. The harness interceptors are registered before the package is
  // loaded: axios runs request interceptors last-registered-first and
  // response interceptors first-registered-first, so these see the request as
  // it goes on the wire (after the package's proactive refresh) and the
  // response before the package's refresh-on-401 handler.
  const { default: axios } = await import('axios');
  const jar = new CookieJar();
  const log = [];

  axios.defaults.baseURL = baseURL;
  // A test must see the real status, never an axios-level timeout hiding it.
  axios.defaults.timeout = 15000;

  axios.interceptors.request.use((config) => {
    const { pathname, path } = pathOf(config);
    const cookie = jar.headerFor(pathname);
    if (cookie) config.headers.set('Cookie', cookie);
    else config.headers.delete?.('Cookie');
    const entry = {
      method: String(config.method || 'get').toUpperCase(),
      path,
      status: undefined,
      cookie: cookie || undefined,
      authorization: headerValue(config.headers, 'Authorization'),
      data: undefined,
    };
    log.push(entry);
    config.__contractLogEntry = entry;
    if (config.responseType === 'blob') {
      config.responseType = 'arraybuffer';
      config.__contractBlob = true;
    }
    return config;
  });

  const toBlob = (response) => {
    if (response?.config?.__contractBlob && !(response.data instanceof Blob)) {
      const type = headerValue(response.headers, 'content-type') ?? '';
      response.data = new Blob([response.data ?? new Uint8Array(0)], { type });
    }
  };

  axios.interceptors.response.use(
    (response) => {
      toBlob(response);
      for (const h of setCookieHeaders(response.headers)) jar.store(h);
      const entry = response.config?.__contractLogEntry;
      if (entry) {
        entry.status = response.status;
        entry.data = response.data;
      }
      return response;
    },
    (error) => {
      const response = error?.response;
      if (response) {
        toBlob(response);
        for (const h of setCookieHeaders(response.headers)) jar.store(h);
      }
      const entry = error?.config?.__contractLogEntry;
      if (entry) {
        entry.status = response ? response.status : `network error: ${error.code || error.message}`;
        entry.data = response?.data;
      }
      return Promise.reject(error);
    },
  );

  const dp = await import('librechat-data-provider');

  // Make sure the package really sends through this axios instance: its own
  // header helper must be visible in this instance's defaults.
  dp.setTokenHeader('harness-probe');
  assert.equal(
    axios.defaults.headers.common.Authorization,
    'Bearer harness-probe',
    'librechat-data-provider does not use the axios instance the harness configured (duplicate axios in node_modules?)',
  );
  dp.setTokenHeader(undefined);
  assert.equal(dp.getTokenHeader(), undefined);
  // In Node the package sees no <base href>, so its URLs are origin-relative,
  // as they are in the browser with the default "/" base.
  assert.equal(dp.apiBaseUrl(), '');

  return { dp, axios, jar, log, win };
}

/** Awaits `promise`; returns {ok: true, value} or {ok: false, status, data, error}. */
export async function settle(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    if (!error?.response) throw error; // network errors and harness bugs are not HTTP outcomes
    return { ok: false, status: error.response.status, data: error.response.data, error };
  }
}

/** Decodes a JWT payload (no verification), as the client does for `exp`. */
export function jwtPayload(token) {
  const parts = String(token).split('.');
  assert.equal(parts.length, 3, `not a JWT: ${token}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** Short description of log entries for assertion messages. */
export function describeLog(entries) {
  return entries.map((e) => `${e.method} ${e.path} -> ${e.status}`).join('\n');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A unique user for one test file. */
export function newUser(tag) {
  const n = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return {
    name: `Contract ${tag}`,
    username: `contract_${tag}_${n}`,
    email: `contract.${tag}.${n}@example.com`,
    password: 'Password123!',
    confirm_password: 'Password123!',
  };
}

export const OBJECT_ID = /^[a-f0-9]{24}$/;
