// The chat flow as the LibreChat client drives it, on top of the harness:
//   - start: createPayload(submission) with null/undefined values removed,
//     POSTed with the package's request.post to the URL createPayload builds;
//   - stream: GET /api/agents/chat/stream/:id (?resume=true) through the
//     package's request.authenticatedFetch (the client uses sse.js with the
//     same Bearer header), parsed into SSE frames;
//   - status and abort with request.get / request.post on the URLs the
//     client's data-provider/SSE module uses.

import assert from 'node:assert/strict';
import { newUser, settle } from './harness.mjs';

/** The runner's built-in endpoint when no provider is configured, as the client's endpoint option. */
export const OFFLINE = { endpoint: 'Offline', endpointType: 'custom', model: 'offline-echo', modelDisplayLabel: 'Offline' };

/**
 * The endpoint option the client builds for an endpoint from
 * /api/endpoints and /api/models (its first model).
 */
export async function endpointOptionFor(dp, endpoint = OFFLINE.endpoint) {
  const eps = await dp.dataService.getAIEndpoints();
  const models = await dp.dataService.getModels();
  const cfg = eps?.[endpoint];
  assert.ok(cfg, `endpoint ${endpoint} is not offered: ${JSON.stringify(eps)}`);
  assert.ok(Array.isArray(models?.[endpoint]) && models[endpoint].length > 0, `models.${endpoint}: ${JSON.stringify(models)}`);
  const option = { endpoint, endpointType: cfg.type, model: models[endpoint][0] };
  if (cfg.modelDisplayLabel) option.modelDisplayLabel = cfg.modelDisplayLabel;
  return option;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** {"error":"Stream not found",...}: a job that does not exist, has ended, or is not the caller's. */
export const STREAM_NOT_FOUND = {
  error: 'Stream not found',
  message: 'The generation job does not exist or has expired.',
};

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Chat helpers bound to one loaded client (see harness.loadClient).
 * Every call runs with the identity currently in the package's
 * Authorization header (dp.setTokenHeader). endpointOption is what the
 * client merges into each message (endpoint, endpointType, model,
 * modelDisplayLabel).
 */
export function chatClient({ dp, baseURL, endpointOption = OFFLINE }) {
  const api = dp.apiBaseUrl();

  /** Registers and logs in a fresh user; returns {user, token} without switching identity. */
  async function signUp(tag) {
    const current = dp.getTokenHeader();
    const u = newUser(tag);
    const reg = await settle(dp.dataService.register(u));
    assert.ok(reg.ok, `register ${tag}: ${reg.status} ${JSON.stringify(reg.data)}`);
    const r = await settle(dp.dataService.login({ email: u.email, password: u.password }));
    assert.ok(r.ok, `login ${tag}: ${r.status} ${JSON.stringify(r.data)}`);
    dp.setTokenHeader(current === undefined ? undefined : current.replace(/^Bearer /, ''));
    return { user: r.value.user, token: r.value.token, credentials: u };
  }

  /** Sends the following requests as `session` ({token}). */
  function as(session) {
    dp.setTokenHeader(session.token);
  }

  /**
   * The TSubmission the client builds for a new message: `conversationId`
   * null starts a new conversation; `parentMessageId` defaults to NO_PARENT.
   */
  function submission({ text, conversationId = null, parentMessageId, messageId, conversation = {}, isTemporary = false }) {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    const clientTimestamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
    const userMessage = {
      text,
      sender: 'User',
      clientTimestamp,
      isCreatedByUser: true,
      parentMessageId: parentMessageId ?? dp.Constants.NO_PARENT,
      conversationId,
      messageId: messageId ?? crypto.randomUUID(),
      error: false,
    };
    return {
      userMessage,
      conversation: { ...conversation, conversationId, endpoint: endpointOption.endpoint, model: endpointOption.model },
      endpointOption: { ...endpointOption },
      isTemporary,
      isRegenerate: false,
      isContinued: false,
      ephemeralAgent: { mcp: [], web_search: false, file_search: false, execute_code: false },
    };
  }

  /**
   * Starts a generation as the client does. Returns {server, payload, start}
   * where start is the settled POST answer.
   */
  async function start(opts) {
    const { server, payload } = dp.createPayload(submission(opts));
    const body = dp.removeNullishValues(payload);
    const startAnswer = await settle(dp.request.post(server, body));
    return { server, payload: body, start: startAnswer };
  }

  /** Starts a generation and asserts the {streamId, conversationId, status} answer; returns the id. */
  async function startOK(opts) {
    const r = await start(opts);
    assert.ok(r.start.ok, `POST ${r.server}: ${r.start.status} ${JSON.stringify(r.start.data)}`);
    const v = r.start.value;
    assert.deepEqual(Object.keys(v).sort(), ['conversationId', 'status', 'streamId'], `start answer: ${JSON.stringify(v)}`);
    assert.equal(v.status, 'started');
    assert.equal(v.streamId, v.conversationId, 'streamId must equal conversationId');
    assert.match(v.streamId, UUID);
    if (opts.conversationId) assert.equal(v.conversationId, opts.conversationId);
    return { ...r, id: v.conversationId };
  }

  function streamPath(id, resume = false) {
    return `${api}/api/agents/chat/stream/${encodeURIComponent(id)}${resume ? '?resume=true' : ''}`;
  }

  /**
   * Opens the SSE stream of a job. Returns {status, contentType, body (for
   * non-stream answers), frames (async iterator of {event, data, raw}),
   * close()}.
   */
  async function openStream(id, { resume = false } = {}) {
    const controller = new AbortController();
    const res = await dp.request.authenticatedFetch(baseURL + streamPath(id, resume), {
      headers: { Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const contentType = res.headers.get('content-type') ?? '';
    const out = { status: res.status, contentType, headers: res.headers, close: () => controller.abort() };
    if (!contentType.includes('text/event-stream')) {
      const text = await res.text();
      let body = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { ...out, body, frames: (async function* () {})() };
    }
    out.frames = parseSSE(res.body, controller);
    return out;
  }

  /** Opens a stream, asserts 200 text/event-stream, and reads every frame to its end. */
  async function readAll(id, opts) {
    const s = await openStream(id, opts);
    assert.equal(s.status, 200, `stream ${id}: ${s.status} ${JSON.stringify(s.body)}`);
    assert.match(s.contentType, /^text\/event-stream/);
    const frames = [];
    for await (const f of s.frames) frames.push(f);
    return frames;
  }

  /** GET /api/agents/chat/status/:id (fetchStreamStatus). */
  const status = (id) => settle(dp.request.get(`${api}/api/agents/chat/status/${id}`));
  /** POST /api/agents/chat/abort (the stop button's abortStream). */
  const abort = (params) => settle(dp.request.post(`${api}/api/agents/chat/abort`, params));

  /**
   * One complete turn: start, read the stream to its end, and check that it
   * ended with a final frame. Returns {id, frames, created, final, reply}.
   */
  async function turn(opts) {
    const { id } = await startOK(opts);
    const frames = await readAll(id);
    const last = frames.at(-1);
    assert.ok(last && kindOf(last) === 'final', `the stream did not end with final:\n${describeFrames(frames.slice(-3))}`);
    assert.equal(kindOf(frames[0]), 'created');
    const final = last.data;
    return { id, frames, created: frames[0].data.message, final, reply: partsText(final.responseMessage?.content) };
  }

  return { endpointOption, signUp, turn, as, submission, start, startOK, openStream, readAll, status, abort, streamPath };
}

/**
 * Parses a text/event-stream body into frames {event, data, raw}; data is
 * the JSON-decoded data lines (or the text when it is not JSON). Comment
 * lines (keep-alives) are skipped.
 */
export async function* parseSSE(body, controller) {
  const decoder = new TextDecoder();
  let buf = '';
  const reader = body.getReader();
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (controller?.signal.aborted) return;
        throw e;
      }
      if (chunk.done) break;
      buf += decoder.decode(chunk.value, { stream: true });
      let m;
      while ((m = /\r?\n\r?\n/.exec(buf))) {
        const block = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        const f = parseBlock(block);
        if (f) yield f;
      }
    }
    buf += decoder.decode();
    const f = parseBlock(buf);
    if (f) yield f;
  } finally {
    reader.releaseLock?.();
    controller?.abort();
  }
}

function parseBlock(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  const raw = data.join('\n');
  let parsed = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // not JSON: keep the text
  }
  return { event, data: parsed, raw };
}

/** The last logged request with that method whose path starts with pathPrefix. */
export function lastRequest(log, method, pathPrefix) {
  for (let i = log.length - 1; i >= 0; i--) {
    if (log[i].method === method && log[i].path.startsWith(pathPrefix)) return log[i];
  }
  return undefined;
}

export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A text of n distinct words: its echo takes about n + 10 chunks to stream. */
export function words(n, tag = 'w') {
  return Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');
}

// ------------------------------------------------------------ frame helpers

/** The kind of a frame: created, sync, final, error, or the step event name. */
export function kindOf(f) {
  if (f.event === 'error') return 'error';
  const d = f.data;
  if (!isPlainObject(d)) return 'text';
  if (d.created === true) return 'created';
  if (d.sync === true) return 'sync';
  if (d.final === true) return 'final';
  if (typeof d.event === 'string') return d.event;
  return 'unknown';
}

export function describeFrames(frames) {
  return frames.map((f) => `${f.event}: ${f.raw.length > 160 ? `${f.raw.slice(0, 160)}…` : f.raw}`).join('\n');
}

/** Concatenated text of the text deltas among frames. */
export function deltaText(frames) {
  return frames
    .filter((f) => kindOf(f) === 'on_message_delta')
    .flatMap((f) => f.data.data.delta.content)
    .filter((p) => p.type === 'text')
    .map((p) => p.text)
    .join('');
}

/** Concatenated text of content parts. */
export function partsText(parts) {
  return (parts ?? []).filter((p) => p?.type === 'text').map((p) => p.text).join('');
}

/**
 * Checks that `keys` (captured, in order) all appear in `obj` in the same
 * relative order; other keys may sit in between unless exact is set.
 * Returns a description of the difference, or null.
 */
export function keyOrderProblem(obj, keys, what, { exact = false } = {}) {
  if (obj === null || typeof obj !== 'object') return `${what}: not an object: ${JSON.stringify(obj)}`;
  const got = Object.keys(obj);
  const missing = keys.filter((k) => !got.includes(k));
  if (missing.length) return `${what}: missing ${missing.join(', ')} (has ${got.join(', ')})`;
  const seen = exact ? got : got.filter((k) => keys.includes(k));
  if (seen.join() !== keys.join()) return `${what}: keys ${seen.join(', ')}; captured ${keys.join(', ')}`;
  return null;
}

/** Asserts keyOrderProblem finds nothing. */
export function assertKeyOrder(obj, keys, what, opts) {
  const p = keyOrderProblem(obj, keys, what, opts);
  assert.equal(p, null, p ?? '');
}

/** Asserts that none of the [obj, keys, what, opts] checks finds a difference, reporting all of them. */
export function assertKeyOrders(checks) {
  const problems = checks.map((c) => keyOrderProblem(...c)).filter(Boolean);
  assert.deepEqual(problems, [], `key order differs from LibreChat's:\n${problems.join('\n')}`);
}

/**
 * Key orders as LibreChat's server sends them (captures in
 * shared/librechat-api/transcripts, and messages-and-streaming.md where no
 * capture exists).
 */
export const CAPTURED = {
  // 23-chat-start
  startAnswer: ['streamId', 'conversationId', 'status'],
  // 24-chat-stream
  createdFrame: ['created', 'message', 'streamId'],
  createdMessage: ['messageId', 'parentMessageId', 'conversationId', 'sender', 'text', 'isCreatedByUser', 'tokenCount'],
  runStep: ['stepIndex', 'id', 'type', 'index', 'stepDetails', 'usage', 'runId'],
  stepDetails: ['type', 'message_creation'],
  delta: ['id', 'delta'],
  title: ['conversationId', 'title'],
  final: ['final', 'conversation', 'title', 'requestMessage', 'responseMessage'],
  finalResponse: [
    'messageId', 'conversationId', 'parentMessageId', 'isCreatedByUser', 'isEdited', 'model', 'sender',
    'promptTokens', 'endpoint', 'text', 'content', 'tokenCount', 'attachments',
  ],
  // 24 (final.conversation), 55-convo-rename, 57/59 archive
  document: [
    'tags', 'chatProjectId', '_id', 'conversationId', 'user', '__v', 'agent_id', 'createdAt', 'endpoint',
    'endpointType', 'expiredAt', 'isArchived', 'isTemporary', 'maxContextTokens', 'messages', 'model',
    'resendFiles', 'title', 'updatedAt', 'files',
  ],
  // 26-get-convo
  conversation: [
    '_id', 'conversationId', 'user', '__v', 'agent_id', 'createdAt', 'endpoint', 'endpointType', 'expiredAt',
    'isArchived', 'isTemporary', 'maxContextTokens', 'messages', 'model', 'resendFiles', 'title', 'updatedAt', 'files',
  ],
  // 27, 52, 58
  listItem: ['_id', 'conversationId', 'user', 'agent_id', 'createdAt', 'endpoint', 'model', 'title', 'updatedAt'],
  // 25-get-messages
  storedUserMessage: [
    'messageId', 'conversationId', 'createdAt', 'endpoint', 'error', 'expiredAt', 'isCreatedByUser',
    'isTemporary', 'parentMessageId', 'sender', 'text', 'tokenCount', 'unfinished', 'updatedAt',
  ],
  storedResponse: [
    'messageId', 'attachments', 'content', 'conversationId', 'createdAt', 'endpoint', 'error', 'expiredAt',
    'isCreatedByUser', 'isTemporary', 'model', 'parentMessageId', 'sender', 'text', 'tokenCount', 'unfinished',
    'updatedAt',
  ],
  // 60-tag-create, 61-get-tags-after
  tag: ['_id', 'tag', 'user', '__v', 'count', 'createdAt', 'description', 'position', 'updatedAt'],
  // 62-convo-delete
  deleteResult: ['acknowledged', 'deletedCount', 'messages'],
  // messages-and-streaming.md (no capture; from LibreChat's source): status, sync, abort frame
  statusRunning: ['active', 'streamId', 'status', 'aggregatedContent', 'createdAt', 'resumeState'],
  sync: ['sync', 'resumeState', 'pendingEvents'],
  abortFinal: ['final', 'conversation', 'title', 'requestMessage', 'responseMessage', 'aborted', 'earlyAbort'],
};

/** Keys a sidebar list item may carry besides the captured ones (the list query's selection). */
export const LIST_ITEM_OPTIONAL = ['assistant_id', 'spec', 'iconURL', 'chatProjectId', 'pinned'];
