// Message routes through the package's dataService, against the chat
// runner: read a conversation's messages, edit a message's text and a
// content part, rate a reply, branch, delete, search, and what a second
// user can see and change of them. Steps share state and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClient, requireBaseURL, settle } from './harness.mjs';
import { chatClient, endpointOptionFor, lastRequest, partsText } from './chatflow.mjs';

const BASE_URL = requireBaseURL('CHAT_BASE_URL');
const { dp, log } = await loadClient(BASE_URL);
const ds = dp.dataService;
const NO_PARENT = dp.Constants.NO_PARENT;
const CONVO_NOT_FOUND = { error: 'Conversation not found' };

const s = {};
let chat = chatClient({ dp, baseURL: BASE_URL });

function need(...keys) {
  for (const k of keys) assert.ok(s[k], `an earlier step failed: this step needs "${k}"`);
}

const byId = (msgs, id) => msgs.find((m) => m.messageId === id);
/** GET /api/messages/:conversationId/:messageId with the package's request layer (no dataService function). */
const getMessage = (conversationId, messageId) => settle(dp.request.get(`${dp.apiBaseUrl()}/api/messages/${conversationId}/${messageId}`));
/** DELETE /api/messages/:conversationId/:messageId with the package's request layer (no dataService function). */
const deleteMessage = (conversationId, messageId) => settle(dp.request.delete(`${dp.apiBaseUrl()}/api/messages/${conversationId}/${messageId}`));

// ---------------------------------------------------------------- setup

test('setup: erin has a conversation of two turns, frank none', async () => {
  s.erin = await chat.signUp('msgs_e');
  s.frank = await chat.signUp('msgs_f');
  chat.as(s.erin);
  chat = chatClient({ dp, baseURL: BASE_URL, endpointOption: await endpointOptionFor(dp) });
  const first = await chat.turn({ text: 'a question about quokkas' });
  const second = await chat.turn({
    text: 'and one more',
    conversationId: first.id,
    parentMessageId: first.final.responseMessage.messageId,
  });
  s.id = first.id;
  s.u1 = first.created.messageId;
  s.r1 = first.final.responseMessage.messageId;
  s.u2 = second.created.messageId;
  s.r2 = second.final.responseMessage.messageId;
  s.reply1 = first.reply;
  const msgs = await ds.getMessagesByConvoId(s.id);
  assert.deepEqual(msgs.map((m) => m.messageId), [s.u1, s.r1, s.u2, s.r2]);
  s.ready = true;
});

test('one message: GET /api/messages/:conversationId/:messageId answers an array with it', async () => {
  need('ready');
  chat.as(s.erin);
  const all = await ds.getMessagesByConvoId(s.id);
  const r = await getMessage(s.id, s.r1);
  assert.ok(r.ok, `get one: ${r.status} ${JSON.stringify(r.data)}`);
  assert.deepEqual(r.value, [byId(all, s.r1)]);
});

// ---------------------------------------------------------------- edits

test('updateMessage: PUT {text} replaces the text of a message', async () => {
  need('ready');
  chat.as(s.erin);
  const r = await ds.updateMessage({ conversationId: s.id, messageId: s.u1, text: 'an edited question' });
  const e = lastRequest(log, 'PUT', '/api/messages/');
  assert.equal(e.path, `/api/messages/${s.id}/${s.u1}`);
  assert.equal(e.status, 200);
  assert.equal(r.messageId, s.u1);
  assert.equal(r.conversationId, s.id);
  assert.equal(r.parentMessageId, NO_PARENT);
  assert.equal(r.text, 'an edited question');
  assert.equal(r.isCreatedByUser, true);
  assert.equal(typeof r.tokenCount, 'number');
  const msgs = await ds.getMessagesByConvoId(s.id);
  assert.equal(byId(msgs, s.u1).text, 'an edited question');
  assert.equal(partsText(byId(msgs, s.r1).content), s.reply1, 'other messages are untouched');
  assert.ok(byId(msgs, s.u1).updatedAt >= byId(msgs, s.u1).createdAt);
});

test('updateMessageContent: PUT {text, index} replaces one text part of a reply', async () => {
  need('ready');
  chat.as(s.erin);
  const r = await ds.updateMessageContent({ conversationId: s.id, messageId: s.r1, index: 0, text: 'an edited reply' });
  assert.equal(lastRequest(log, 'PUT', '/api/messages/').status, 200);
  assert.equal(r.messageId, s.r1);
  assert.equal(r.conversationId, s.id);
  const reply = byId(await ds.getMessagesByConvoId(s.id), s.r1);
  assert.deepEqual(reply.content, [{ type: 'text', text: 'an edited reply' }]);
  assert.equal(reply.text, '');

  const bad = await settle(ds.updateMessageContent({ conversationId: s.id, messageId: s.r1, index: 5, text: 'x' }));
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.data, { error: 'Invalid index' });
  const unknown = await settle(ds.updateMessage({ conversationId: s.id, messageId: crypto.randomUUID(), text: 'x' }));
  assert.equal(unknown.status, 404, `edit of an unknown message: ${unknown.status} ${JSON.stringify(unknown.data)}`);
});

test('updateFeedback: rating a reply stores the minimal feedback; an empty body clears it', async () => {
  need('ready');
  chat.as(s.erin);
  // What the client sends: toMinimalFeedback of the chosen rating and tag.
  const feedback = dp.toMinimalFeedback({ rating: 'thumbsUp', tag: dp.getTagByKey('accurate_reliable'), text: 'Nice' });
  assert.deepEqual(feedback, { rating: 'thumbsUp', tag: 'accurate_reliable', text: 'Nice' });
  const r = await ds.updateFeedback(s.id, s.r1, { feedback });
  const e = lastRequest(log, 'PUT', '/api/messages/');
  assert.equal(e.path, `/api/messages/${s.id}/${s.r1}/feedback`);
  assert.equal(e.status, 200);
  assert.deepEqual(r, { messageId: s.r1, conversationId: s.id, feedback });
  assert.deepEqual(byId(await ds.getMessagesByConvoId(s.id), s.r1).feedback, feedback);

  const cleared = await ds.updateFeedback(s.id, s.r1, { feedback: dp.toMinimalFeedback(undefined) });
  assert.equal(cleared.messageId, s.r1);
  assert.equal(cleared.feedback ?? null, null, `cleared feedback: ${JSON.stringify(cleared)}`);
  assert.equal(byId(await ds.getMessagesByConvoId(s.id), s.r1).feedback ?? null, null);
});

test('branchMessage: a single-agent reply has no parallel content to branch (400)', async () => {
  need('ready');
  chat.as(s.erin);
  const r = await settle(ds.branchMessage({ messageId: s.r1, agentId: 'agent_contract' }));
  assert.equal(lastRequest(log, 'POST', '/api/messages/branch').path, '/api/messages/branch');
  assert.equal(r.status, 400, `branch: ${r.status} ${JSON.stringify(r.value ?? r.data)}`);
  assert.equal(typeof r.data?.error, 'string');
  assert.equal((await ds.getMessagesByConvoId(s.id)).length, 4, 'nothing was added');
});

test('search: listMessages({search}) finds the text when search is enabled', async (t) => {
  need('ready');
  chat.as(s.erin);
  if ((await ds.getSearchEnabled()) !== true) {
    t.skip('search is disabled (/api/search/enable is false), so the client never searches');
    return;
  }
  // The first turn was edited above: its old words are gone, the new ones
  // are found by prefix, each hit with its conversation's title.
  const gone = await ds.listMessages({ search: 'quokkas' });
  assert.deepEqual(gone.messages.filter((m) => m.conversationId === s.id), [], 'an edited-away word is still found');
  const r = await ds.listMessages({ search: 'edit' });
  assert.deepEqual(Object.keys(r).sort(), ['messages', 'nextCursor']);
  const ids = r.messages.filter((m) => m.conversationId === s.id).map((m) => m.messageId).sort();
  assert.deepEqual(ids, [s.u1, s.r1].sort(), `search results: ${JSON.stringify(r).slice(0, 300)}`);
  assert.ok(r.messages.every((m) => typeof m.title === 'string'));
  s.searched = true;
});

// ---------------------------------------------------------------- another user

test("cross-user: frank cannot read, edit, rate, branch or delete erin's messages", async () => {
  need('ready');
  chat.as(s.erin);
  const before = await ds.getMessagesByConvoId(s.id);

  chat.as(s.frank);
  try {
    const read = await settle(ds.getMessagesByConvoId(s.id));
    assert.equal(read.ok, false, "frank read erin's messages");
    assert.equal(read.status, 404);
    assert.deepEqual(read.data, CONVO_NOT_FOUND);
    const attempts = {
      updateMessage: () => ds.updateMessage({ conversationId: s.id, messageId: s.u1, text: 'frank was here' }),
      updateMessageContent: () => ds.updateMessageContent({ conversationId: s.id, messageId: s.r1, index: 0, text: 'frank was here' }),
      updateFeedback: () => ds.updateFeedback(s.id, s.r1, { feedback: { rating: 'thumbsDown', tag: 'other' } }),
      deleteMessage: () => deleteMessage(s.id, s.r2).then((r) => (r.ok ? r.value : Promise.reject(r.error))),
    };
    for (const [name, call] of Object.entries(attempts)) {
      const r = await settle(call());
      assert.equal(r.ok, false, `frank's ${name} on erin's message succeeded: ${JSON.stringify(r.value)}`);
      assert.equal(r.status, 404, `frank's ${name}: ${r.status} ${JSON.stringify(r.data)}`);
      assert.deepEqual(r.data, CONVO_NOT_FOUND, `frank's ${name}`);
    }
    const one = await getMessage(s.id, s.r1);
    assert.equal(one.status, 404, `frank's GET of one message: ${one.status} ${JSON.stringify(one.value ?? one.data)}`);
    assert.deepEqual(one.data, CONVO_NOT_FOUND);
    const branch = await settle(ds.branchMessage({ messageId: s.r1, agentId: 'agent_contract' }));
    assert.equal(branch.status, 404, `frank's branchMessage: ${branch.status} ${JSON.stringify(branch.data)}`);
    if (s.searched) {
      const found = await ds.listMessages({ search: 'edit' });
      assert.deepEqual(found.messages, [], "frank's search finds erin's messages");
    }
  } finally {
    chat.as(s.erin);
  }
  assert.deepEqual(await ds.getMessagesByConvoId(s.id), before, "erin's messages changed");
});

// ---------------------------------------------------------------- delete

test('delete: DELETE /api/messages/:conversationId/:messageId answers 204 and the message is gone', async () => {
  need('ready');
  chat.as(s.erin);
  const r = await deleteMessage(s.id, s.r2);
  assert.ok(r.ok, `delete: ${r.status} ${JSON.stringify(r.data)}`);
  assert.equal(lastRequest(log, 'DELETE', '/api/messages/').status, 204);
  const msgs = await ds.getMessagesByConvoId(s.id);
  assert.deepEqual(msgs.map((m) => m.messageId), [s.u1, s.r1, s.u2]);
});
