// Full-text search as the client's search bar drives it, against the chat
// runner: getSearchEnabled switches the bar on, listMessages({search,
// cursor}) finds the caller's messages by word prefixes (each hit with its
// conversation's title), listConversations({search}) finds the caller's
// conversations by title, deleted conversations drop out, and no user
// finds another user's words. Steps share state and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClient, requireBaseURL, settle } from './harness.mjs';
import { chatClient, endpointOptionFor, lastRequest } from './chatflow.mjs';

const BASE_URL = requireBaseURL('CHAT_BASE_URL');
const { dp, log } = await loadClient(BASE_URL);
const ds = dp.dataService;
const NO_PARENT = dp.Constants.NO_PARENT;

const s = {};
let chat = chatClient({ dp, baseURL: BASE_URL });

function need(...keys) {
  for (const k of keys) assert.ok(s[k], `an earlier step failed: this step needs "${k}"`);
}

/** One search request as the search bar sends it; returns the page. */
async function searchMessages(search, cursor) {
  const page = await ds.listMessages(cursor ? { search, cursor } : { search });
  const e = lastRequest(log, 'GET', '/api/messages');
  const query = `search=${encodeURIComponent(search)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  assert.equal(e.path, `/api/messages?${query}`);
  assert.equal(e.status, 200);
  assert.deepEqual(Object.keys(page).sort(), ['messages', 'nextCursor'], `search answer: ${JSON.stringify(page).slice(0, 300)}`);
  assert.ok(Array.isArray(page.messages));
  assert.ok(page.nextCursor === null || typeof page.nextCursor === 'string', `nextCursor: ${JSON.stringify(page.nextCursor)}`);
  return page;
}

/** Every hit of a search, following nextCursor as the infinite query does. */
async function searchAll(search) {
  const hits = [];
  let cursor;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 20, `search "${search}" does not end`);
    const page = await searchMessages(search, cursor);
    hits.push(...page.messages);
    if (page.nextCursor === null) return { hits, pages: pages + 1 };
    assert.ok(page.messages.length > 0, 'an empty page with a nextCursor');
    cursor = page.nextCursor;
  }
}

const sortedIds = (msgs) => msgs.map((m) => m.messageId).sort();
const convoIds = (page) => page.conversations.map((c) => c.conversationId);

/** A titled conversation of one turn for the current user. */
async function conversation(text, title) {
  const t = await chat.turn({ text });
  await ds.updateConversation({ conversationId: t.id, title });
  return { id: t.id, title, ids: [t.created.messageId, t.final.responseMessage.messageId].sort() };
}

// ---------------------------------------------------------------- setup

test('setup: search is enabled; ivy and jack each have conversations with overlapping words', async () => {
  s.ivy = await chat.signUp('search_i');
  s.jack = await chat.signUp('search_j');
  chat.as(s.ivy);
  assert.equal(await ds.getSearchEnabled(), true, 'GET /api/search/enable must answer true');
  assert.equal(lastRequest(log, 'GET', '/api/search/enable').status, 200);
  chat = chatClient({ dp, baseURL: BASE_URL, endpointOption: await endpointOptionFor(dp) });
  s.savanna = await conversation('zebras migrate across the savanna', 'Savanna journal');
  s.ice = await conversation('penguins huddle on the ice', 'Antarctic notes');
  chat.as(s.jack);
  s.theirs = await conversation('zebras graze in the savanna at dawn', 'Savanna facts');
  s.ready = true;
});

// ---------------------------------------------------------------- messages

test("listMessages({search}): a word's prefix finds the caller's messages, each with its conversation's title", async () => {
  need('ready');
  chat.as(s.ivy);
  const page = await searchMessages('zebr');
  assert.equal(page.nextCursor, null);
  assert.deepEqual(sortedIds(page.messages), s.savanna.ids, `hits: ${JSON.stringify(page.messages.map((m) => [m.conversationId, m.text]))}`);
  for (const m of page.messages) {
    assert.equal(m.conversationId, s.savanna.id);
    assert.equal(m.title, 'Savanna journal');
    assert.equal(typeof m.isCreatedByUser, 'boolean');
    assert.ok(m.parentMessageId === NO_PARENT || s.savanna.ids.includes(m.parentMessageId));
    if ('user' in m) assert.equal(m.user, s.ivy.user.id);
  }
  const user = page.messages.find((m) => m.isCreatedByUser);
  assert.equal(user.text, 'zebras migrate across the savanna');

  assert.deepEqual(sortedIds((await searchMessages('ZEBRAS')).messages), s.savanna.ids, 'search ignores case');
  assert.deepEqual(sortedIds((await searchMessages('savan migr')).messages), s.savanna.ids, 'two prefixes of one message');
  assert.deepEqual(sortedIds((await searchMessages('pengu')).messages), s.ice.ids);
  assert.deepEqual(await searchMessages('marmots'), { messages: [], nextCursor: null });
});

test('listMessages({search, cursor}): the pages of a long result add up to every hit once', async () => {
  need('ready');
  chat.as(s.ivy);
  // A LibreChat export with 30 messages that all mention the word.
  const conversationId = crypto.randomUUID();
  const messages = [];
  let parent = NO_PARENT;
  for (let i = 0; i < 30; i++) {
    const messageId = crypto.randomUUID();
    const at = new Date(Date.UTC(2025, 0, 1, 12, 0, i)).toISOString();
    messages.push({
      messageId,
      parentMessageId: parent,
      conversationId,
      sender: i % 2 ? 'Offline' : 'User',
      isCreatedByUser: i % 2 === 0,
      text: `quasar observation number ${i}`,
      endpoint: 'Offline',
      createdAt: at,
      updatedAt: at,
    });
    parent = messageId;
  }
  const file = {
    conversationId,
    endpoint: 'Offline',
    title: 'Quasar log',
    exportAt: '12:00:00',
    branches: true,
    recursive: false,
    options: { conversationId, endpoint: 'Offline', model: 'offline-echo', title: 'Quasar log' },
    messages,
  };
  const sidebar = async () => (await ds.listConversations({ isArchived: false, sortBy: 'updatedAt', sortDirection: 'desc' })).conversations;
  const before = new Set((await sidebar()).map((c) => c.conversationId));
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify(file)], { type: 'application/json' }), 'quasar.json');
  await ds.importConversationsFile(form);
  const imported = (await sidebar()).filter((c) => !before.has(c.conversationId));
  assert.equal(imported.length, 1, `imported conversations: ${JSON.stringify(imported)}`);
  const stored = await ds.getMessagesByConvoId(imported[0].conversationId);
  assert.equal(stored.length, 30);

  const { hits, pages } = await searchAll('quasa');
  assert.equal(hits.length, 30, `hits over ${pages} page(s): ${hits.length}`);
  assert.equal(new Set(hits.map((m) => m.messageId)).size, 30, 'a hit came twice');
  assert.deepEqual(sortedIds(hits), sortedIds(stored));
  assert.ok(hits.every((m) => m.title === 'Quasar log'));
});

// ---------------------------------------------------------------- conversations

test('listConversations({search}): the title words find the conversation (GET /api/convos?search=)', async () => {
  need('ready');
  chat.as(s.ivy);
  const page = await ds.listConversations({ search: 'savan' });
  const e = lastRequest(log, 'GET', '/api/convos');
  assert.equal(e.path, '/api/convos?search=savan');
  assert.equal(e.status, 200);
  assert.deepEqual(Object.keys(page), ['conversations', 'nextCursor']);
  assert.deepEqual(convoIds(page), [s.savanna.id]);
  assert.equal(page.nextCursor, null);
  const item = page.conversations[0];
  assert.equal(item.title, 'Savanna journal');
  assert.equal(item.user, s.ivy.user.id);
  assert.deepEqual(convoIds(await ds.listConversations({ search: 'ANTARC' })), [s.ice.id]);
  assert.deepEqual(convoIds(await ds.listConversations({ search: 'journ' })), [s.savanna.id]);
  assert.deepEqual(await ds.listConversations({ search: 'marmots' }), { conversations: [], nextCursor: null });
});

// ---------------------------------------------------------------- another user

test("cross-user: jack's searches find his own words only, and ivy's never find his", async () => {
  need('ready');
  chat.as(s.jack);
  try {
    const zebras = await searchMessages('zebr');
    assert.deepEqual(sortedIds(zebras.messages), s.theirs.ids, `jack's hits: ${JSON.stringify(zebras.messages.map((m) => m.conversationId))}`);
    assert.ok(zebras.messages.every((m) => m.title === 'Savanna facts'));
    for (const q of ['pengu', 'quasa', 'migr', 'journ', 'antarc']) {
      assert.deepEqual(await searchMessages(q), { messages: [], nextCursor: null }, `jack's search "${q}"`);
    }
    assert.deepEqual(convoIds(await ds.listConversations({ search: 'savan' })), [s.theirs.id]);
    for (const q of ['antarc', 'journ', 'quasa']) {
      assert.deepEqual(await ds.listConversations({ search: q }), { conversations: [], nextCursor: null }, `jack's conversation search "${q}"`);
    }
  } finally {
    chat.as(s.ivy);
  }
  const graze = await searchMessages('graze dawn');
  assert.deepEqual(graze, { messages: [], nextCursor: null }, "ivy finds jack's words");
  assert.deepEqual(sortedIds((await searchMessages('savan')).messages), s.savanna.ids);
  assert.deepEqual(convoIds(await ds.listConversations({ search: 'facts' })), []);
});

// ---------------------------------------------------------------- deletion

test('a deleted conversation is no longer found, by its messages or its title', async () => {
  need('ready');
  chat.as(s.ivy);
  await ds.deleteConversation({ conversationId: s.ice.id });
  assert.deepEqual(await searchMessages('pengu'), { messages: [], nextCursor: null });
  assert.deepEqual(await ds.listConversations({ search: 'antarc' }), { conversations: [], nextCursor: null });
  assert.deepEqual(sortedIds((await searchMessages('zebr')).messages), s.savanna.ids, 'the other conversation is still found');
  chat.as(s.jack);
  try {
    assert.deepEqual(sortedIds((await searchMessages('zebr')).messages), s.theirs.ids, "ivy's delete touched jack's index");
  } finally {
    chat.as(s.ivy);
  }
  const r = await settle(ds.listMessages({ search: 'zebr', cursor: 'not-a-cursor' }));
  assert.ok(!r.ok || Array.isArray(r.value?.messages), `a foreign cursor: ${JSON.stringify(r.value ?? r.data)}`);
  if (!r.ok) assert.ok(r.status >= 400 && r.status < 500, `a foreign cursor: ${r.status} ${JSON.stringify(r.data)}`);
});
