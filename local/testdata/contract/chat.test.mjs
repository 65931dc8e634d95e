// The chat flow as the client runs it, against the chat runner (no provider
// configured: the built-in Offline endpoint, whose model echoes the message
// in word chunks with a small delay):
//   start (createPayload → request.post) → SSE stream → stored messages and
//   conversation; a follow-up turn; resume of a running reply; abort; job
//   status and the active list; and another user's view of all of it.
// Steps share state and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OBJECT_ID, describeLog, loadClient, requireBaseURL, settle } from './harness.mjs';
import {
  CAPTURED,
  ISO_MS,
  LIST_ITEM_OPTIONAL,
  STREAM_NOT_FOUND,
  UUID,
  assertKeyOrder,
  assertKeyOrders,
  chatClient,
  deltaText,
  describeFrames,
  endpointOptionFor,
  kindOf,
  lastRequest,
  partsText,
  words,
} from './chatflow.mjs';

const BASE_URL = requireBaseURL('CHAT_BASE_URL');
const { dp, log } = await loadClient(BASE_URL);
const ds = dp.dataService;
const NO_PARENT = dp.Constants.NO_PARENT;

/** What earlier steps learned; later steps depend on it. */
const s = {};
let chat = chatClient({ dp, baseURL: BASE_URL });

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function need(...keys) {
  for (const k of keys) assert.ok(s[k], `an earlier step failed: this step needs "${k}"`);
}

/** The first conversation after its stream was read. */
function needFirstTurn() {
  assert.ok(s.first?.final, 'an earlier step failed: this step needs the first streamed turn');
}

/** Asserts the frame sequence of one complete generation and returns its parts. */
function checkGeneration(frames, { id, text, parentMessageId }) {
  const kinds = frames.map(kindOf);
  const where = describeFrames(frames);
  assert.ok(frames.length >= 3, `too few frames:\n${where}`);
  assert.equal(kinds[0], 'created', `the first frame must be created:\n${where}`);
  assert.equal(kinds.at(-1), 'final', `the last frame must be final:\n${where}`);
  assert.equal(kinds.filter((k) => k === 'created').length, 1, `one created frame:\n${where}`);
  assert.equal(kinds.filter((k) => k === 'final').length, 1, `one final frame:\n${where}`);
  assert.deepEqual(kinds.filter((k) => k === 'error' || k === 'unknown' || k === 'text'), [], `unexpected frames:\n${where}`);
  for (const f of frames) assert.equal(f.event, 'message', `SSE event name of ${f.raw.slice(0, 80)}`);

  const created = frames[0].data;
  assert.equal(created.streamId, id);
  const u = created.message;
  assert.ok(isPlainObject(u), `created.message: ${frames[0].raw}`);
  assert.match(u.messageId, UUID);
  assert.equal(u.parentMessageId, parentMessageId);
  assert.equal(u.conversationId, id);
  assert.equal(u.sender, 'User');
  assert.equal(u.text, text);
  assert.equal(u.isCreatedByUser, true);
  assert.equal(typeof u.tokenCount, 'number');

  // Every delta refers to a step announced before it.
  const steps = new Map();
  for (const f of frames) {
    const k = kindOf(f);
    if (k === 'on_run_step') steps.set(f.data.data.id, f.data.data);
    if (k === 'on_message_delta') {
      assert.ok(steps.has(f.data.data.id), `delta for a step not announced yet: ${f.raw}`);
    }
  }
  assert.ok(steps.size >= 1, `no on_run_step:\n${where}`);
  const final = frames.at(-1).data;
  const r = final.responseMessage;
  for (const step of steps.values()) {
    assert.equal(step.runId, r.messageId, 'on_run_step.runId must be the response message id');
  }

  assert.deepEqual(Object.keys(final), CAPTURED.final, `final frame keys (no "aborted" on a normal completion): ${Object.keys(final)}`);
  assert.deepEqual(final.requestMessage, u, 'final.requestMessage must be the message announced by created');
  assert.match(r.messageId, UUID);
  assert.notEqual(r.messageId, u.messageId);
  assert.equal(r.conversationId, id);
  assert.equal(r.parentMessageId, u.messageId);
  assert.equal(r.isCreatedByUser, false);
  assert.equal(r.text, '', 'the reply text lives in content');
  assert.ok(Array.isArray(r.content) && r.content.length >= 1, `responseMessage.content: ${JSON.stringify(r.content)}`);
  const reply = partsText(r.content);
  assert.equal(deltaText(frames), reply, 'the deltas must add up to the final content');
  assert.ok(reply.includes(text), `the offline model echoes the message: ${JSON.stringify(reply)}`);
  assert.equal(r.endpoint, chat.endpointOption.endpoint);
  assert.equal(r.model, chat.endpointOption.model);
  assert.equal(typeof r.sender, 'string');
  assert.ok(r.sender.length > 0);
  assert.deepEqual(r.attachments, []);

  const c = final.conversation;
  assert.ok(isPlainObject(c), `final.conversation: ${JSON.stringify(c)}`);
  assert.equal(c.conversationId, id);
  assert.match(c._id, OBJECT_ID);
  assert.equal(c.endpoint, chat.endpointOption.endpoint);
  assert.equal(c.model, chat.endpointOption.model);
  assert.ok(Array.isArray(c.messages) && c.messages.every((m) => OBJECT_ID.test(m)), `conversation.messages: ${JSON.stringify(c.messages)}`);
  assert.equal(final.title, c.title, 'final.title is the conversation title');
  assert.match(c.createdAt, ISO_MS);
  assert.match(c.updatedAt, ISO_MS);

  const titles = frames.filter((f) => kindOf(f) === 'title');
  return { created: u, final, reply, titles, steps: [...steps.values()] };
}

// ---------------------------------------------------------------- setup

test('setup: two users; the zero-config runner offers the Offline endpoint', async () => {
  s.alice = await chat.signUp('chat_a');
  s.bob = await chat.signUp('chat_b');
  chat.as(s.alice);
  const eps = await ds.getAIEndpoints();
  const models = await ds.getModels();
  const names = Object.keys(eps).filter((k) => eps[k]);
  assert.deepEqual(names, ['Offline'], `endpoints: ${JSON.stringify(eps)}`);
  assert.equal(eps.Offline.type, 'custom');
  assert.deepEqual(models.Offline, ['offline-echo']);
  chat = chatClient({ dp, baseURL: BASE_URL, endpointOption: await endpointOptionFor(dp) });
  s.ready = true;
});

// ---------------------------------------------------------------- a first turn

test('start: createPayload posted with request.post to /api/agents/chat/Offline answers started (transcripts/23)', async () => {
  need('ready');
  chat.as(s.alice);
  const text = 'Hello from the contract suite';
  const r = await chat.startOK({ text });
  assert.equal(r.server, '/api/agents/chat/Offline', 'createPayload builds the agents chat URL');
  const e = lastRequest(log, 'POST', '/api/agents/chat/');
  assert.equal(e.path, '/api/agents/chat/Offline');
  assert.equal(e.status, 200);
  assert.equal(e.authorization, `Bearer ${s.alice.token}`);
  // The body is what createPayload produced: no conversationId for a new chat.
  assert.equal(r.payload.conversationId, undefined);
  assert.equal(r.payload.parentMessageId, NO_PARENT);
  assert.equal(r.payload.endpoint, 'Offline');
  s.first = { id: r.id, text, start: e.data };
});

test('start: the answer keys are in the order of transcripts/23', () => {
  need('first');
  assertKeyOrder(s.first.start, CAPTURED.startAnswer, 'start answer', { exact: true });
});

test('stream: created first, final last, the ids agree, the deltas add up to the reply (transcripts/24)', async () => {
  need('first');
  chat.as(s.alice);
  const stream = await chat.openStream(s.first.id);
  assert.equal(stream.status, 200, `stream: ${stream.status} ${JSON.stringify(stream.body)}`);
  assert.match(stream.contentType, /^text\/event-stream/);
  assert.match(stream.headers.get('cache-control') ?? '', /no-cache/);
  const frames = [];
  for await (const f of stream.frames) frames.push(f);
  const g = checkGeneration(frames, { id: s.first.id, text: s.first.text, parentMessageId: NO_PARENT });
  assert.equal(g.final.conversation.user, s.alice.user.id, 'conversation.user is the owner');
  assert.equal(g.final.conversation.messages.length, 2);
  // A new conversation gets a title frame (capture 24); its title is stored after final.
  assert.equal(g.titles.length, 1, `title frames:\n${describeFrames(frames)}`);
  const t = g.titles[0].data.data;
  assert.equal(t.conversationId, s.first.id);
  assert.equal(typeof t.title, 'string');
  assert.ok(t.title.length > 0);
  s.first = { ...s.first, ...g, frames, title: t.title };
});

test('stream: frame and object keys are in the order of transcripts/24', () => {
  needFirstTurn();
  const { frames, final } = s.first;
  const step = frames.find((f) => kindOf(f) === 'on_run_step').data.data;
  const delta = frames.find((f) => kindOf(f) === 'on_message_delta').data.data;
  assertKeyOrders([
    [frames[0].data, CAPTURED.createdFrame, 'created frame', { exact: true }],
    [frames[0].data.message, CAPTURED.createdMessage, 'created.message', { exact: true }],
    [step, CAPTURED.runStep, 'on_run_step data', { exact: true }],
    [step.stepDetails, CAPTURED.stepDetails, 'on_run_step stepDetails', { exact: true }],
    [delta, CAPTURED.delta, 'on_message_delta data', { exact: true }],
    [s.first.titles[0].data.data, CAPTURED.title, 'title data', { exact: true }],
    [final.responseMessage, CAPTURED.finalResponse, 'final.responseMessage'],
    [final.conversation, CAPTURED.document, 'final.conversation'],
  ]);
});

test('after final: status is {active:false}, the active list is empty, the stream is gone (transcripts/28, 29)', async () => {
  needFirstTurn();
  chat.as(s.alice);
  const st = await chat.status(s.first.id);
  assert.ok(st.ok, `status: ${st.status} ${JSON.stringify(st.data)}`);
  assert.deepEqual(st.value, { active: false });
  assert.deepEqual(await ds.getActiveJobs(), { activeJobIds: [] });
  for (const resume of [false, true]) {
    const again = await chat.openStream(s.first.id, { resume });
    assert.equal(again.status, 404, `stream after completion (resume=${resume})`);
    assert.deepEqual(again.body, STREAM_NOT_FOUND);
  }
  const never = await chat.openStream('does-not-exist');
  assert.equal(never.status, 404);
  assert.deepEqual(never.body, STREAM_NOT_FOUND, 'transcripts/66');
});

test('stored: getMessagesByConvoId returns the request and the reply as the stream announced them (transcripts/25)', async () => {
  needFirstTurn();
  const { created, final, reply } = s.first;
  chat.as(s.alice);
  const msgs = await ds.getMessagesByConvoId(s.first.id);
  assert.equal(lastRequest(log, 'GET', '/api/messages/').path, `/api/messages/${s.first.id}`);
  assert.ok(Array.isArray(msgs), `messages: ${JSON.stringify(msgs)}`);
  assert.deepEqual(msgs.map((m) => m.messageId), [created.messageId, final.responseMessage.messageId]);
  const [u, r] = msgs;
  for (const m of msgs) {
    for (const k of ['_id', '__v', 'user']) assert.equal(m[k], undefined, `stored message exposes ${k}`);
    assert.equal(m.conversationId, s.first.id);
    assert.match(m.createdAt, ISO_MS);
    assert.match(m.updatedAt, ISO_MS);
    assert.equal(m.error, false);
    assert.equal(m.unfinished, false);
    assert.equal(m.endpoint, 'Offline');
  }
  assert.ok(u.createdAt <= r.createdAt, 'sorted by createdAt');
  assert.equal(u.parentMessageId, NO_PARENT);
  assert.equal(u.text, s.first.text);
  assert.equal(u.sender, 'User');
  assert.equal(u.isCreatedByUser, true);
  assert.equal(r.parentMessageId, created.messageId);
  assert.equal(r.isCreatedByUser, false);
  assert.equal(r.text, '');
  assert.deepEqual(r.content, final.responseMessage.content);
  assert.equal(partsText(r.content), reply);
  assert.equal(r.sender, final.responseMessage.sender);
  assert.equal(r.model, 'offline-echo');
  assertKeyOrder(u, CAPTURED.storedUserMessage, 'stored user message');
  assertKeyOrder(r, CAPTURED.storedResponse, 'stored reply');
});

test('stored: genTitle, listConversations and getConversationById show the titled conversation (transcripts/56, 52, 26)', async () => {
  needFirstTurn();
  const { final, title } = s.first;
  chat.as(s.alice);
  const gt = await settle(ds.genTitle({ conversationId: s.first.id }));
  assert.ok(gt.ok, `gen_title: ${gt.status} ${JSON.stringify(gt.data)}`);
  assert.deepEqual(gt.value, { title }, 'gen_title answers the title the stream announced');

  const page = await ds.listConversations({ isArchived: false, sortBy: 'updatedAt', sortDirection: 'desc' });
  assert.equal(
    lastRequest(log, 'GET', '/api/convos').path,
    '/api/convos?isArchived=false&sortBy=updatedAt&sortDirection=desc',
  );
  assert.deepEqual(Object.keys(page), ['conversations', 'nextCursor']);
  assert.equal(page.nextCursor, null);
  assert.equal(page.conversations.length, 1, `conversations: ${JSON.stringify(page.conversations)}`);
  const item = page.conversations[0];
  assertKeyOrder(item, CAPTURED.listItem, 'list item');
  const extra = Object.keys(item).filter((k) => !CAPTURED.listItem.includes(k) && !LIST_ITEM_OPTIONAL.includes(k));
  assert.deepEqual(extra, [], `list item carries keys the list query does not select: ${extra.join(', ')}`);
  assert.equal(item._id, final.conversation._id);
  assert.equal(item.conversationId, s.first.id);
  assert.equal(item.user, s.alice.user.id);
  assert.equal(item.title, title);
  assert.equal(item.endpoint, 'Offline');
  assert.equal(item.model, 'offline-echo');
  assert.equal(item.agent_id, final.conversation.agent_id);

  const c = await ds.getConversationById(s.first.id);
  assertKeyOrder(c, CAPTURED.conversation, 'getConversationById');
  assert.equal(c._id, final.conversation._id);
  assert.equal(c.user, s.alice.user.id);
  assert.equal(c.title, title);
  assert.deepEqual(c.messages, final.conversation.messages);
  assert.equal(c.isArchived, false);
  assert.equal(c.endpointType, 'custom');
  assert.equal(c.createdAt, final.conversation.createdAt);
  assert.equal(item.updatedAt, c.updatedAt);
});

test('follow-up: a second message to the reply continues the conversation, without a title frame (transcripts/30-33)', async () => {
  needFirstTurn();
  const { final, title } = s.first;
  chat.as(s.alice);
  const text = 'And a second question';
  const parent = final.responseMessage.messageId;
  const r = await chat.startOK({ text, conversationId: s.first.id, parentMessageId: parent });
  assert.equal(r.payload.conversationId, s.first.id);
  const frames = await chat.readAll(r.id);
  const g = checkGeneration(frames, { id: s.first.id, text, parentMessageId: parent });
  assert.equal(g.titles.length, 0, 'only the first turn of a new conversation gets a title frame');
  assert.equal(g.final.title, title, 'later turns carry the stored title');
  assert.equal(g.final.conversation.messages.length, 4);
  assert.equal(g.final.conversation._id, final.conversation._id);

  const msgs = await ds.getMessagesByConvoId(s.first.id);
  assert.deepEqual(
    msgs.map((m) => [m.messageId, m.parentMessageId]),
    [
      [s.first.created.messageId, NO_PARENT],
      [parent, s.first.created.messageId],
      [g.created.messageId, parent],
      [g.final.responseMessage.messageId, g.created.messageId],
    ],
  );
  const page = await ds.listConversations({ isArchived: false, sortBy: 'updatedAt', sortDirection: 'desc' });
  assert.deepEqual(page.conversations.map((c) => c.conversationId), [s.first.id], 'still one conversation');
});

test('temporary chat: stored with isTemporary and an expiry, no title, never in the sidebar', async (t) => {
  need('ready');
  chat.as(s.alice);
  const role = await ds.getRole(s.alice.user.role);
  if (role.permissions?.TEMPORARY_CHAT?.USE !== true) {
    t.skip('TEMPORARY_CHAT.USE is off, so the client sends no temporary chats');
    return;
  }
  const listed = await ds.listConversations({ isArchived: false, sortBy: 'updatedAt', sortDirection: 'desc' });
  const text = 'this chat is temporary';
  const r = await chat.startOK({ text, isTemporary: true });
  assert.equal(r.payload.isTemporary, true);
  const frames = await chat.readAll(r.id);
  const g = checkGeneration(frames, { id: r.id, text, parentMessageId: NO_PARENT });
  assert.equal(g.titles.length, 0, 'temporary chats get no title');
  assert.equal(g.final.conversation.isTemporary, true);
  assert.match(g.final.conversation.expiredAt ?? '', ISO_MS, 'a temporary conversation expires');
  assert.ok(Date.parse(g.final.conversation.expiredAt) > Date.now(), 'expiredAt lies in the future');

  assert.deepEqual(
    await ds.listConversations({ isArchived: false, sortBy: 'updatedAt', sortDirection: 'desc' }),
    listed,
    'a temporary conversation is not listed',
  );
  const c = await ds.getConversationById(r.id);
  assert.equal(c.isTemporary, true);
  assert.equal(c.expiredAt, g.final.conversation.expiredAt);
  const msgs = await ds.getMessagesByConvoId(r.id);
  assert.deepEqual(msgs.map((m) => m.messageId), [g.created.messageId, g.final.responseMessage.messageId]);
  for (const m of msgs) {
    assert.equal(m.isTemporary, true, `message ${m.messageId} isTemporary`);
    assert.match(m.expiredAt ?? '', ISO_MS);
  }
});

// ---------------------------------------------------------------- resume

test('resume: status while running, then ?resume=true gives a sync frame first and the rest of the reply', async () => {
  need('ready');
  chat.as(s.alice);
  const text = words(24, 'resume');
  const { id } = await chat.startOK({ text });

  // Read up to the first delta, then drop the connection (a reload).
  const first = await chat.openStream(id);
  assert.equal(first.status, 200);
  const seen = [];
  for await (const f of first.frames) {
    seen.push(f);
    if (kindOf(f) === 'on_message_delta') break;
  }
  first.close();
  assert.equal(kindOf(seen[0]), 'created', describeFrames(seen));
  assert.equal(kindOf(seen.at(-1)), 'on_message_delta', `the stream ended before a delta:\n${describeFrames(seen)}`);
  const created = seen[0].data.message;
  const step = seen.find((f) => kindOf(f) === 'on_run_step').data.data;

  // What the client asks on opening /c/:id.
  const st = await chat.status(id);
  assert.ok(st.ok, `status: ${st.status} ${JSON.stringify(st.data)}`);
  const v = st.value;
  assert.deepEqual(Object.keys(v), CAPTURED.statusRunning, `status while running: ${JSON.stringify(v).slice(0, 300)}`);
  assert.equal(v.active, true, 'the reply is still being generated (the offline model streams ~35 chunks)');
  assert.equal(v.streamId, id);
  assert.equal(v.status, 'running');
  assert.ok(Array.isArray(v.aggregatedContent));
  assert.ok(Number.isInteger(v.createdAt) && Math.abs(Date.now() - v.createdAt) < 60e3, `createdAt (ms epoch): ${v.createdAt}`);
  assert.ok(isPlainObject(v.resumeState));
  assert.equal(v.resumeState.responseMessageId, step.runId);
  assert.equal(v.resumeState.userMessage?.messageId, created.messageId);
  assert.deepEqual((await ds.getActiveJobs()).activeJobIds, [id]);
  // While the job runs the conversation's messages can be read.
  const during = await settle(ds.getMessagesByConvoId(id));
  assert.ok(during.ok, `messages while running: ${during.status} ${JSON.stringify(during.data)}`);
  assert.ok(during.value.some((m) => m.messageId === created.messageId), 'the request message is readable while running');

  // Resume.
  const frames = await chat.readAll(id, { resume: true });
  assert.equal(kindOf(frames[0]), 'sync', `the first frame on resume must be sync:\n${describeFrames(frames.slice(0, 3))}`);
  const sync = frames[0].data;
  assert.deepEqual(Object.keys(sync), CAPTURED.sync, 'sync frame keys');
  const rs = sync.resumeState;
  for (const k of ['runSteps', 'aggregatedContent', 'userMessage', 'responseMessageId', 'conversationId', 'sender', 'model']) {
    assert.ok(k in rs, `resumeState lacks ${k}: ${JSON.stringify(rs).slice(0, 300)}`);
  }
  assert.equal(rs.conversationId, id);
  assert.equal(rs.responseMessageId, step.runId);
  assert.equal(rs.userMessage.messageId, created.messageId);
  assert.equal(rs.userMessage.text, text);
  assert.ok(rs.runSteps.some((r) => r.id === step.id), 'resumeState.runSteps holds the step the deltas refer to');
  assert.ok(Array.isArray(sync.pendingEvents));
  const rest = frames.slice(1);
  const kinds = rest.map(kindOf);
  assert.equal(kinds.at(-1), 'final', `the resumed stream must end with final:\n${describeFrames(rest.slice(-3))}`);
  assert.equal(kinds.filter((k) => k === 'created' || k === 'sync').length, 0, 'no created or second sync after the snapshot');
  const final = rest.at(-1).data;
  assert.deepEqual(Object.keys(final), CAPTURED.final);
  assert.equal(final.requestMessage.messageId, created.messageId);
  assert.equal(final.responseMessage.messageId, rs.responseMessageId);
  // Snapshot + pending + live deltas rebuild the reply exactly once.
  const pending = sync.pendingEvents.map((e) => ({ event: 'message', data: e, raw: JSON.stringify(e) }));
  const rebuilt = partsText(rs.aggregatedContent) + deltaText(pending) + deltaText(rest);
  const reply = partsText(final.responseMessage.content);
  assert.equal(rebuilt, reply, 'sync snapshot plus the following deltas must equal the final reply');
  assert.ok(reply.includes(text));

  const after = await chat.status(id);
  assert.deepEqual(after.value, { active: false });
  assert.deepEqual(await ds.getActiveJobs(), { activeJobIds: [] });
  const stored = await ds.getMessagesByConvoId(id);
  const r = stored.find((m) => m.messageId === final.responseMessage.messageId);
  assert.ok(r, 'the reply is stored');
  assert.equal(r.unfinished, false, 'a reply that completed after its reader left is stored finished');
  assert.equal(partsText(r.content), reply);
});

// ---------------------------------------------------------------- abort

test('abort: the stop button mid-stream ends the stream with an aborted final; the partial reply is stored unfinished', async () => {
  need('ready');
  chat.as(s.alice);
  const text = words(24, 'abort');
  const { id } = await chat.startOK({ text });
  const stream = await chat.openStream(id);
  assert.equal(stream.status, 200);
  const frames = [];
  let answer;
  for await (const f of stream.frames) {
    frames.push(f);
    if (!answer && kindOf(f) === 'on_message_delta') {
      answer = await chat.abort({ conversationId: id });
    }
  }
  assert.ok(answer, `no delta before the end:\n${describeFrames(frames)}`);
  assert.ok(answer.ok, `abort: ${answer.status} ${JSON.stringify(answer.data)}`);
  assert.deepEqual(answer.value, { success: true, aborted: id });
  assert.equal(lastRequest(log, 'POST', '/api/agents/chat/').path, '/api/agents/chat/abort');

  const kinds = frames.map(kindOf);
  assert.equal(kinds[0], 'created');
  assert.equal(kinds.at(-1), 'final', `the aborted stream must end with final:\n${describeFrames(frames.slice(-3))}`);
  const final = frames.at(-1).data;
  assert.deepEqual(Object.keys(final), CAPTURED.abortFinal, `abort final keys: ${Object.keys(final)}`);
  assert.equal(final.aborted, true);
  assert.equal(final.earlyAbort, false);
  assert.deepEqual(final.conversation, { conversationId: id });
  assert.equal(typeof final.title, 'string');
  const created = frames[0].data.message;
  assert.equal(final.requestMessage.messageId, created.messageId);
  assert.equal(final.requestMessage.isCreatedByUser, true);
  const r = final.responseMessage;
  assert.equal(r.parentMessageId, created.messageId);
  assert.equal(r.conversationId, id);
  assert.equal(r.unfinished, true);
  assert.equal(r.error, false);
  assert.equal(r.isCreatedByUser, false);
  assert.equal('text' in r, false, 'the abort frame\'s responseMessage has no text');
  const partial = partsText(r.content);
  assert.equal(deltaText(frames), partial, 'the aborted content is what was streamed');
  assert.ok(partial.length > 0);
  assert.ok(!partial.includes('abort23'), `the reply was not cut: ${partial}`);

  const st = await chat.status(id);
  assert.deepEqual(st.value, { active: false });
  assert.deepEqual(await ds.getActiveJobs(), { activeJobIds: [] });
  const again = await chat.abort({ conversationId: id });
  assert.equal(again.status, 404, `second abort: ${JSON.stringify(again.value ?? again.data)}`);
  assert.deepEqual(again.data, { error: 'Job not found', streamId: id });

  const stored = await ds.getMessagesByConvoId(id);
  assert.deepEqual(stored.map((m) => m.messageId), [created.messageId, r.messageId]);
  const reply = stored[1];
  assert.equal(reply.unfinished, true, 'the partial reply is stored unfinished');
  assert.equal(reply.error, false);
  assert.equal(partsText(reply.content), partial);
});

test('abort without a running job: 404 {error: "Job not found"}', async () => {
  need('ready');
  chat.as(s.alice);
  const r = await chat.abort({ conversationId: 'new' });
  assert.equal(r.status, 404, JSON.stringify(r.value ?? r.data));
  assert.equal(r.data?.error, 'Job not found');
});

// ---------------------------------------------------------------- another user

test("cross-user: while alice's reply streams, bob sees no job and cannot stop, read or join it", async () => {
  need('ready');
  chat.as(s.alice);
  const text = words(24, 'private');
  const { id } = await chat.startOK({ text });
  const stream = await chat.openStream(id);
  assert.equal(stream.status, 200);
  const frames = [];
  const reading = (async () => {
    for await (const f of stream.frames) frames.push(f);
  })();

  chat.as(s.bob);
  const mark = log.length;
  try {
    const st = await chat.status(id);
    assert.ok(st.ok, `bob status: ${st.status}`);
    assert.deepEqual(st.value, { active: false }, "another user's job is reported absent");
    assert.deepEqual(await ds.getActiveJobs(), { activeJobIds: [] });
    for (const resume of [false, true]) {
      const b = await chat.openStream(id, { resume });
      assert.equal(b.status, 404, `bob's stream (resume=${resume}): ${b.status}`);
      assert.deepEqual(b.body, STREAM_NOT_FOUND);
    }
    for (const params of [{ conversationId: id }, { streamId: id }, { abortKey: `${id}:x` }, { conversationId: 'new' }]) {
      const ab = await chat.abort(params);
      assert.equal(ab.status, 404, `bob abort ${JSON.stringify(params)}: ${ab.status} ${JSON.stringify(ab.value ?? ab.data)}`);
      assert.equal(ab.data?.error, 'Job not found');
    }
    const m = await settle(ds.getMessagesByConvoId(id));
    assert.equal(m.ok, false, 'bob read the messages of a running job');
    assert.equal(m.status, 404);
    assert.deepEqual(m.data, { error: 'Conversation not found' });
    // Joining the running conversation with a new message never lands in
    // it: it is refused, or it starts a conversation of bob's own under a
    // fresh id (and says nothing about alice's job).
    const join = await chat.start({ text: 'let me in', conversationId: id });
    if (join.start.ok) {
      assert.notEqual(join.start.value.conversationId, id, `bob started a generation in alice's running conversation`);
      assert.notEqual(join.start.value.streamId, id);
      await chat.readAll(join.start.value.streamId);
    } else {
      assert.ok(join.start.status >= 400 && join.start.status < 500, `bob join: ${join.start.status}`);
    }
  } finally {
    chat.as(s.alice);
  }
  const bobCalls = log.slice(mark);
  assert.ok(bobCalls.every((e) => e.authorization === `Bearer ${s.bob.token}`), describeLog(bobCalls));

  await reading;
  const g = checkGeneration(frames, { id, text, parentMessageId: NO_PARENT });
  assert.ok(g.reply.includes('private23'), "alice's reply completed in full (bob's abort had no effect)");
  const stored = await ds.getMessagesByConvoId(id);
  assert.equal(stored.length, 2);
  assert.equal(stored[1].unfinished, false);
  s.private = { id, final: g.final };
});

test("cross-user: bob cannot post into alice's stored conversation", async () => {
  need('private');
  const { id, final } = s.private;
  chat.as(s.alice);
  const before = await ds.getMessagesByConvoId(id);
  const convoBefore = await ds.getConversationById(id);

  chat.as(s.bob);
  try {
    // A follow-up to alice's reply: the parent is not bob's.
    const follow = await chat.start({ text: 'hijack', conversationId: id, parentMessageId: final.responseMessage.messageId });
    assert.equal(follow.start.ok, false, `bob continued alice's conversation: ${JSON.stringify(follow.start.value)}`);
    assert.equal(follow.start.status, 404, `bob follow-up: ${follow.start.status} ${JSON.stringify(follow.start.data)}`);
    // A "new" chat that reuses alice's conversation id: never a reply in her conversation.
    const reuse = await chat.start({ text: 'reuse the id', conversationId: id });
    if (reuse.start.ok) {
      assert.notEqual(reuse.start.value.conversationId, id, 'bob was given alice\'s conversation id');
      const bobs = await chat.readAll(reuse.start.value.streamId);
      assert.ok(!bobs.some((f) => f.raw.includes('private0')), "alice's text leaked to bob");
      const theirs = await chat.openStream(id, {});
      assert.equal(theirs.status, 404, "bob can open a stream under alice's conversation id");
    } else {
      assert.ok(reuse.start.status >= 400 && reuse.start.status < 500, `bob reuse: ${reuse.start.status}`);
    }
    for (const c of (await ds.listConversations({ isArchived: false })).conversations) {
      assert.notEqual(c.conversationId, id, "alice's conversation is in bob's list");
    }
  } finally {
    chat.as(s.alice);
  }
  assert.deepEqual(await ds.getMessagesByConvoId(id), before, "alice's messages changed");
  assert.deepEqual(await ds.getConversationById(id), convoBefore, "alice's conversation changed");
  // Alice can still continue her conversation.
  const r = await chat.startOK({ text: 'still mine', conversationId: id, parentMessageId: final.responseMessage.messageId });
  const frames = await chat.readAll(r.id);
  checkGeneration(frames, { id, text: 'still mine', parentMessageId: final.responseMessage.messageId });
});
