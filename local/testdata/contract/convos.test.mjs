// Conversation management through the package's dataService, against the
// chat runner: the sidebar list (sorting, paging, archive), rename, archive,
// pin, duplicate, fork, import, bookmarks (tags), delete and clear all, and what a
// second user can see and change of the first user's conversations.
// Steps share state and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OBJECT_ID, loadClient, requireBaseURL, settle } from './harness.mjs';
import {
  CAPTURED,
  LIST_ITEM_OPTIONAL,
  UUID,
  assertKeyOrder,
  chatClient,
  endpointOptionFor,
  lastRequest,
  partsText,
} from './chatflow.mjs';

const BASE_URL = requireBaseURL('CHAT_BASE_URL');
const { dp, log } = await loadClient(BASE_URL);
const ds = dp.dataService;
const NO_PARENT = dp.Constants.NO_PARENT;
const CONVO_NOT_FOUND = { error: 'Conversation not found' };
const FORBIDDEN = { message: 'Forbidden: Insufficient permissions' };

const s = {};
let chat = chatClient({ dp, baseURL: BASE_URL });

function need(...keys) {
  for (const k of keys) assert.ok(s[k], `an earlier step failed: this step needs "${k}"`);
}

/** The sidebar query the client sends. */
const sidebar = (extra = {}) => ds.listConversations({ isArchived: false, sortBy: 'updatedAt', sortDirection: 'desc', ...extra });
const ids = (page) => page.conversations.map((c) => c.conversationId);

/** Status of the last request to pathPrefix (request.post and friends return only the body). */
function lastStatus(method, pathPrefix) {
  return lastRequest(log, method, pathPrefix)?.status;
}

function checkListItem(item, where) {
  assertKeyOrder(item, CAPTURED.listItem, where);
  const extra = Object.keys(item).filter((k) => !CAPTURED.listItem.includes(k) && !LIST_ITEM_OPTIONAL.includes(k));
  assert.deepEqual(extra, [], `${where}: keys the list query does not select: ${extra.join(', ')}`);
}

/** A whole conversation of the current user: its document and its messages. */
async function snapshot(id) {
  return { convo: await ds.getConversationById(id), messages: await ds.getMessagesByConvoId(id) };
}

// ---------------------------------------------------------------- setup

test('setup: carol has two conversations, dan none', async () => {
  s.carol = await chat.signUp('convos_c');
  s.dan = await chat.signUp('convos_d');
  chat.as(s.carol);
  chat = chatClient({ dp, baseURL: BASE_URL, endpointOption: await endpointOptionFor(dp) });
  for (const name of ['alpha', 'beta']) {
    const t = await chat.turn({ text: `${name} conversation` });
    // Wait for the generated title (gen_title long-polls until it is stored).
    const gt = await settle(ds.genTitle({ conversationId: t.id }));
    assert.ok(gt.ok, `gen_title ${name}: ${gt.status} ${JSON.stringify(gt.data)}`);
    s[name] = { ...t, title: gt.value.title };
  }
  assert.notEqual(s.alpha.title, s.beta.title);
  s.ready = true;
});

// ---------------------------------------------------------------- the list

test('listConversations: newest first by default, sorted by createdAt or title on request (transcripts/52)', async () => {
  need('ready');
  chat.as(s.carol);
  const page = await sidebar();
  assert.equal(lastRequest(log, 'GET', '/api/convos').path, '/api/convos?isArchived=false&sortBy=updatedAt&sortDirection=desc');
  assert.deepEqual(Object.keys(page), ['conversations', 'nextCursor']);
  assert.deepEqual(ids(page), [s.beta.id, s.alpha.id]);
  assert.equal(page.nextCursor, null);
  for (const c of page.conversations) {
    checkListItem(c, 'list item');
    assert.match(c._id, OBJECT_ID);
    assert.equal(c.user, s.carol.user.id);
  }
  assert.deepEqual(ids(await ds.listConversations({ sortBy: 'createdAt', sortDirection: 'asc' })), [s.alpha.id, s.beta.id]);
  const byTitle = [s.alpha, s.beta].sort((a, b) => (a.title < b.title ? -1 : 1)).map((x) => x.id);
  assert.deepEqual(ids(await ds.listConversations({ sortBy: 'title', sortDirection: 'asc' })), byTitle);
  assert.deepEqual(ids(await ds.listConversations({ sortBy: 'title', sortDirection: 'desc' })), [...byTitle].reverse());
  // The client's infinite query echoes nextCursor.
  const first = await ds.listConversations({ limit: 1 });
  assert.deepEqual(ids(first), [s.beta.id]);
  assert.equal(typeof first.nextCursor, 'string', `nextCursor: ${JSON.stringify(first.nextCursor)}`);
  const second = await ds.listConversations({ limit: 1, cursor: first.nextCursor });
  assert.deepEqual(ids(second), [s.alpha.id]);
  assert.equal(second.nextCursor, null);
});

// ---------------------------------------------------------------- rename, archive, pin

test('updateConversation renames: 201 with the full document (transcripts/55)', async () => {
  need('ready');
  chat.as(s.carol);
  const before = await ds.getConversationById(s.alpha.id);
  const doc = await ds.updateConversation({ conversationId: s.alpha.id, title: '  Renamed chat  ' });
  const e = lastRequest(log, 'POST', '/api/convos/update');
  assert.equal(e.status, 201);
  assertKeyOrder(doc, CAPTURED.document, 'rename answer', { exact: true });
  assert.equal(doc.title, 'Renamed chat', 'the title is trimmed');
  assert.equal(doc.conversationId, s.alpha.id);
  assert.equal(doc._id, before._id);
  assert.equal(doc.user, s.carol.user.id);
  assert.deepEqual(doc.messages, before.messages);
  assert.ok(doc.updatedAt > before.updatedAt, 'updatedAt moves');
  assert.equal((await ds.getConversationById(s.alpha.id)).title, 'Renamed chat');
  const page = await sidebar();
  assert.deepEqual(ids(page), [s.alpha.id, s.beta.id], 'the renamed conversation moves to the top');
  assert.equal(page.conversations[0].title, 'Renamed chat');

  const bad = await settle(ds.updateConversation({ conversationId: s.alpha.id }));
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.data, { error: 'title is required' });
});

test('archiveConversation: 200 with the document; archived chats move to ?isArchived=true (transcripts/57-59)', async () => {
  need('ready');
  chat.as(s.carol);
  const doc = await ds.archiveConversation({ conversationId: s.alpha.id, isArchived: true });
  assert.equal(lastStatus('POST', '/api/convos/archive'), 200);
  assertKeyOrder(doc, CAPTURED.document, 'archive answer', { exact: true });
  assert.equal(doc.isArchived, true);
  assert.deepEqual(ids(await sidebar()), [s.beta.id]);
  const archived = await ds.listConversations({ isArchived: true });
  assert.equal(lastRequest(log, 'GET', '/api/convos').path, '/api/convos?isArchived=true');
  assert.deepEqual(ids(archived), [s.alpha.id]);
  checkListItem(archived.conversations[0], 'archived list item');
  assert.equal((await ds.getConversationById(s.alpha.id)).isArchived, true);

  const back = await ds.archiveConversation({ conversationId: s.alpha.id, isArchived: false });
  assert.equal(back.isArchived, false);
  assert.deepEqual(ids(await ds.listConversations({ isArchived: true })), []);
  assert.deepEqual(new Set(ids(await sidebar())), new Set([s.alpha.id, s.beta.id]));

  const bad = await settle(ds.archiveConversation({ conversationId: s.alpha.id, isArchived: 'yes' }));
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.data, { error: 'isArchived must be a boolean' });
});

test('pinConversation: 200 with the document; the list item carries pinned', async () => {
  need('ready');
  chat.as(s.carol);
  const doc = await ds.pinConversation({ conversationId: s.beta.id, pinned: true });
  assert.equal(lastStatus('POST', '/api/convos/pin'), 200);
  assert.equal(doc.conversationId, s.beta.id);
  assert.equal(doc.pinned, true);
  const item = (await sidebar()).conversations.find((c) => c.conversationId === s.beta.id);
  assert.equal(item?.pinned, true, `list item: ${JSON.stringify(item)}`);
  const unpinned = await ds.pinConversation({ conversationId: s.beta.id, pinned: false });
  assert.ok(!unpinned.pinned, `pinned after unpin: ${unpinned.pinned}`);
  const again = (await sidebar()).conversations.find((c) => c.conversationId === s.beta.id);
  assert.ok(!again.pinned);
});

// ---------------------------------------------------------------- duplicate, fork

test('duplicateConversation: 201 {conversation, messages} with new ids and the same tree', async () => {
  need('ready');
  chat.as(s.carol);
  const original = await ds.getMessagesByConvoId(s.beta.id);
  const r = await ds.duplicateConversation({ conversationId: s.beta.id, title: 'Beta copy' });
  assert.equal(lastStatus('POST', '/api/convos/duplicate'), 201);
  assert.deepEqual(Object.keys(r).sort(), ['conversation', 'messages']);
  const c = r.conversation;
  assert.match(c.conversationId, UUID);
  assert.notEqual(c.conversationId, s.beta.id);
  assert.equal(c.title, 'Beta copy');
  assert.equal(c.user, s.carol.user.id);
  assertKeyOrder(c, CAPTURED.document, 'duplicated conversation');
  assert.equal(r.messages.length, original.length);
  const byOld = new Map();
  r.messages.forEach((m, i) => byOld.set(original[i].messageId, m.messageId));
  r.messages.forEach((m, i) => {
    const o = original[i];
    assert.equal(m.conversationId, c.conversationId);
    assert.notEqual(m.messageId, o.messageId, 'copies get new message ids');
    assert.equal(m.parentMessageId, o.parentMessageId === NO_PARENT ? NO_PARENT : byOld.get(o.parentMessageId), 'the tree is kept');
    assert.equal(m.text, o.text);
    assert.equal(partsText(m.content), partsText(o.content));
  });
  const stored = await ds.getMessagesByConvoId(c.conversationId);
  assert.deepEqual(stored.map((m) => m.messageId), r.messages.map((m) => m.messageId));
  assert.deepEqual(await ds.getMessagesByConvoId(s.beta.id), original, 'the original is untouched');
  assert.ok(ids(await sidebar()).includes(c.conversationId));
  s.copy = { id: c.conversationId };
});

test('forkConversation directPath from the reply: {conversation, messages} with the path copied', async () => {
  need('ready');
  chat.as(s.carol);
  const target = s.beta.final.responseMessage.messageId;
  const r = await ds.forkConversation({
    conversationId: s.beta.id,
    messageId: target,
    option: 'directPath',
    splitAtTarget: false,
    latestMessageId: target,
  });
  assert.equal(lastStatus('POST', '/api/convos/fork'), 200);
  const c = r.conversation;
  assert.match(c.conversationId, UUID);
  assert.notEqual(c.conversationId, s.beta.id);
  assert.equal(c.user, s.carol.user.id);
  assert.equal(r.messages.length, 2, 'user message and reply');
  const [u, a] = r.messages;
  assert.equal(u.parentMessageId, NO_PARENT);
  assert.equal(a.parentMessageId, u.messageId);
  assert.equal(u.text, s.beta.created.text);
  assert.equal(partsText(a.content), s.beta.reply);
  assert.ok(![s.beta.created.messageId, target].includes(a.messageId));
  const stored = await ds.getMessagesByConvoId(c.conversationId);
  assert.deepEqual(stored.map((m) => m.messageId), [u.messageId, a.messageId]);
  s.fork = { id: c.conversationId };

  const missing = await settle(ds.forkConversation({ conversationId: s.beta.id, messageId: crypto.randomUUID(), option: 'directPath' }));
  assert.equal(missing.status, 404, `fork from an unknown message: ${missing.status} ${JSON.stringify(missing.data)}`);
});

// ---------------------------------------------------------------- import

/** The JSON file the client's "export" writes for a conversation (flat message list). */
function exportFile(convo, messages) {
  return {
    conversationId: convo.conversationId,
    endpoint: convo.endpoint,
    title: convo.title,
    exportAt: new Date().toTimeString().slice(0, 8),
    branches: true,
    recursive: false,
    options: convo,
    messages,
  };
}

test('importConversationsFile: a LibreChat export comes back as a new conversation with new ids (201)', async () => {
  need('ready');
  chat.as(s.carol);
  const convo = await ds.getConversationById(s.alpha.id);
  const messages = await ds.getMessagesByConvoId(s.alpha.id);
  const before = ids(await sidebar());
  const form = new FormData();
  const file = JSON.stringify({ ...exportFile(convo, messages), title: 'Imported alpha' });
  form.append('file', new Blob([file], { type: 'application/json' }), 'alpha.json');
  const r = await ds.importConversationsFile(form);
  const e = lastRequest(log, 'POST', '/api/convos/import');
  assert.equal(e.status, 201);
  assert.deepEqual(r, { message: 'Conversation(s) imported successfully' });

  const after = await sidebar();
  const added = after.conversations.filter((c) => !before.includes(c.conversationId));
  assert.equal(added.length, 1, `imported conversations: ${JSON.stringify(added)}`);
  const imported = added[0];
  assert.notEqual(imported.conversationId, s.alpha.id);
  assert.match(imported.conversationId, UUID);
  assert.equal(imported.title, 'Imported alpha');
  assert.equal(imported.user, s.carol.user.id);
  const copied = await ds.getMessagesByConvoId(imported.conversationId);
  assert.equal(copied.length, messages.length);
  const map = new Map(messages.map((m, i) => [m.messageId, copied[i].messageId]));
  copied.forEach((m, i) => {
    const o = messages[i];
    assert.notEqual(m.messageId, o.messageId, 'imported messages get new ids');
    assert.equal(m.conversationId, imported.conversationId);
    assert.equal(m.parentMessageId, o.parentMessageId === NO_PARENT ? NO_PARENT : map.get(o.parentMessageId));
    assert.equal(m.text, o.text);
    assert.equal(partsText(m.content), partsText(o.content));
  });
  assert.deepEqual(await ds.getMessagesByConvoId(s.alpha.id), messages, 'the source is untouched');
  s.imported = { id: imported.conversationId, file };

  const bad = new FormData();
  bad.append('file', new Blob(['{"not":"an export"}'], { type: 'application/json' }), 'bad.json');
  const refused = await settle(ds.importConversationsFile(bad));
  assert.equal(refused.ok, false, 'an unsupported file was imported');
  assert.ok(refused.status >= 400 && refused.status < 500, `unsupported file: ${refused.status}`);
  assert.equal(typeof refused.data?.message, 'string', `error body: ${JSON.stringify(refused.data)}`);
  assert.deepEqual(ids(await sidebar()), ids(after), 'a refused import adds nothing');
});

// ---------------------------------------------------------------- bookmarks

test('bookmarks: the tags routes follow the role (BOOKMARKS.USE) and the interface switch', async (t) => {
  need('ready');
  chat.as(s.carol);
  const role = await ds.getRole(s.carol.user.role);
  const cfg = await ds.getStartupConfig();
  const enabled = role.permissions?.BOOKMARKS?.USE === true;

  await t.test('off: the client hides bookmarks and /api/tags refuses with 403', { skip: enabled && 'BOOKMARKS.USE is on' }, async () => {
    assert.equal(cfg.interface?.bookmarks, false, 'interface.bookmarks must be off when the role forbids bookmarks');
    for (const call of [() => ds.getConversationTags(), () => ds.createConversationTag({ tag: 'work' })]) {
      const r = await settle(call());
      assert.equal(r.status, 403);
      assert.deepEqual(r.data, FORBIDDEN);
    }
  });

  await t.test('on: list, create, tag a conversation, filter, rename, rebuild, delete (transcripts/47, 60, 61)', { skip: !enabled && 'BOOKMARKS.USE is off' }, async () => {
    assert.notEqual(cfg.interface?.bookmarks, false, 'interface.bookmarks must not hide what the role allows');
    assert.deepEqual(await ds.getConversationTags(), [], 'a new user has no tags (transcripts/47)');
    const tag = await ds.createConversationTag({ tag: 'work', description: 'work chats', addToConversation: false });
    assert.equal(lastStatus('POST', '/api/tags'), 200);
    assertKeyOrder(tag, CAPTURED.tag, 'created tag', { exact: true });
    assert.match(tag._id, OBJECT_ID);
    assert.equal(tag.tag, 'work');
    assert.equal(tag.user, s.carol.user.id);
    assert.equal(tag.count, 0);
    assert.equal(tag.description, 'work chats');
    assert.equal(typeof tag.position, 'number');
    assert.deepEqual(await ds.getConversationTags(), [tag], 'transcripts/61');

    const list = await ds.addTagToConversation(s.alpha.id, { tags: ['work'], tag: 'work' });
    assert.equal(lastRequest(log, 'PUT', '/api/tags/convo/').path, `/api/tags/convo/${s.alpha.id}`);
    assert.deepEqual(list, ['work']);
    assert.deepEqual((await ds.getConversationById(s.alpha.id)).tags, ['work']);
    assert.deepEqual(ids(await ds.listConversations({ tags: ['work'] })), [s.alpha.id]);
    assert.equal(lastRequest(log, 'GET', '/api/convos').path, '/api/convos?tags=work');
    assert.equal((await ds.getConversationTags()).find((x) => x.tag === 'work')?.count, 1);

    const renamed = await ds.updateConversationTag('work', { tag: 'job', description: 'jobs' });
    assert.equal(renamed.tag, 'job');
    assert.equal(renamed.description, 'jobs');
    assert.deepEqual((await ds.getConversationById(s.alpha.id)).tags, ['job'], 'a renamed tag is renamed on its conversations');
    const missing = await settle(ds.updateConversationTag('work', { tag: 'other' }));
    assert.equal(missing.status, 404);

    const added = await ds.createConversationTag({ tag: 'later', conversationId: s.beta.id, addToConversation: true });
    assert.equal(added.tag, 'later');
    assert.deepEqual((await ds.getConversationById(s.beta.id)).tags, ['later']);

    const rebuilt = await ds.rebuildConversationTags();
    assert.ok(Array.isArray(rebuilt));
    assert.deepEqual(
      rebuilt.map((x) => [x.tag, x.count]).sort(),
      [['job', 1], ['later', 1]],
    );

    const deleted = await ds.deleteConversationTag('later');
    assert.equal(deleted.tag, 'later');
    assert.deepEqual((await ds.getConversationById(s.beta.id)).tags, [], 'a deleted tag leaves its conversations');
    assert.deepEqual((await ds.getConversationTags()).map((x) => x.tag), ['job']);
    s.tagged = true;
  });
});

// ---------------------------------------------------------------- another user

test("cross-user: dan sees none of carol's conversations and cannot change them", async () => {
  need('ready', 'copy', 'fork', 'imported');
  chat.as(s.carol);
  await ds.archiveConversation({ conversationId: s.copy.id, isArchived: true });
  const mine = [s.alpha.id, s.beta.id, s.copy.id, s.fork.id, s.imported.id];
  const before = [];
  for (const id of mine) before.push(await snapshot(id));
  const sidebarBefore = await sidebar();
  const archivedBefore = await ds.listConversations({ isArchived: true });
  assert.deepEqual(ids(archivedBefore), [s.copy.id]);
  const reply = s.beta.final.responseMessage.messageId;

  chat.as(s.dan);
  try {
    assert.deepEqual(await sidebar(), { conversations: [], nextCursor: null });
    assert.deepEqual(await ds.listConversations({ isArchived: true }), { conversations: [], nextCursor: null });
    assert.deepEqual(await ds.listConversations({ sortBy: 'title', sortDirection: 'asc' }), { conversations: [], nextCursor: null });
    for (const id of mine) {
      const get = await settle(ds.getConversationById(id));
      assert.equal(get.ok, false, `dan read carol's conversation ${id}`);
      assert.equal(get.status, 404);
      assert.equal(get.data, '', 'GET /api/convos/:id answers 404 with an empty body');
    }
    const attempts = {
      updateConversation: () => ds.updateConversation({ conversationId: s.beta.id, title: 'mine now' }),
      archiveConversation: () => ds.archiveConversation({ conversationId: s.beta.id, isArchived: true }),
      unarchiveConversation: () => ds.archiveConversation({ conversationId: s.copy.id, isArchived: false }),
      pinConversation: () => ds.pinConversation({ conversationId: s.beta.id, pinned: true }),
      duplicateConversation: () => ds.duplicateConversation({ conversationId: s.beta.id }),
      forkConversation: () => ds.forkConversation({ conversationId: s.beta.id, messageId: reply, option: 'directPath', splitAtTarget: false, latestMessageId: reply }),
      deleteConversation: () => ds.deleteConversation({ conversationId: s.beta.id }),
      deleteArchivedConversation: () => ds.deleteConversation({ conversationId: s.copy.id }),
    };
    for (const [name, call] of Object.entries(attempts)) {
      const r = await settle(call());
      assert.equal(r.ok, false, `dan's ${name} on carol's conversation succeeded: ${JSON.stringify(r.value)}`);
      assert.equal(r.status, 404, `dan's ${name}: ${r.status} ${JSON.stringify(r.data)}`);
      assert.deepEqual(r.data, CONVO_NOT_FOUND, `dan's ${name}`);
    }
    if (s.tagged) {
      const tag = await settle(ds.addTagToConversation(s.alpha.id, { tags: ['mine'], tag: 'mine' }));
      assert.equal(tag.status, 404, `dan tagging carol's conversation: ${tag.status} ${JSON.stringify(tag.data)}`);
      assert.deepEqual(await ds.getConversationTags(), [], "dan sees carol's tags");
      assert.deepEqual(ids(await ds.listConversations({ tags: ['job'] })), []);
      for (const call of [() => ds.updateConversationTag('job', { tag: 'hijacked' }), () => ds.deleteConversationTag('job')]) {
        const r = await settle(call());
        assert.equal(r.status, 404, `dan changing carol's tag: ${r.status} ${JSON.stringify(r.data)}`);
      }
    }
    // Importing carol's export gives dan his own copy, nothing of hers.
    const form = new FormData();
    form.append('file', new Blob([s.imported.file], { type: 'application/json' }), 'alpha.json');
    await ds.importConversationsFile(form);
    const his = await sidebar();
    assert.equal(his.conversations.length, 1);
    assert.ok(!mine.includes(his.conversations[0].conversationId), "dan's import reused one of carol's conversations");
    assert.equal(his.conversations[0].user, s.dan.user.id);
    // Clearing his own conversations leaves carol's alone.
    const cleared = await ds.clearAllConversations();
    assert.equal(lastStatus('DELETE', '/api/convos/all'), 201);
    assert.deepEqual(cleared, { acknowledged: true, deletedCount: 1 });
    assert.deepEqual(await sidebar(), { conversations: [], nextCursor: null });
  } finally {
    chat.as(s.carol);
  }
  for (const [i, id] of mine.entries()) {
    assert.deepEqual(await snapshot(id), before[i], `carol's conversation ${id} changed`);
  }
  assert.deepEqual(await sidebar(), sidebarBefore);
  assert.deepEqual(await ds.listConversations({ isArchived: true }), archivedBefore);
  if (s.tagged) assert.deepEqual((await ds.getConversationTags()).map((x) => x.tag), ['job']);
});

// ---------------------------------------------------------------- delete

test('deleteConversation: 201 with the delete counts; its messages are gone (transcripts/62-64)', async () => {
  need('fork');
  chat.as(s.carol);
  const r = await ds.deleteConversation({ conversationId: s.fork.id });
  const e = lastRequest(log, 'DELETE', '/api/convos');
  assert.equal(e.path, '/api/convos');
  assert.equal(e.status, 201);
  assert.deepEqual(r, { acknowledged: true, deletedCount: 1, messages: { acknowledged: true, deletedCount: 2 } });
  assertKeyOrder(r, CAPTURED.deleteResult, 'delete answer', { exact: true });
  const msgs = await settle(ds.getMessagesByConvoId(s.fork.id));
  assert.equal(msgs.status, 404);
  assert.deepEqual(msgs.data, CONVO_NOT_FOUND);
  const get = await settle(ds.getConversationById(s.fork.id));
  assert.equal(get.status, 404);
  assert.ok(!ids(await sidebar()).includes(s.fork.id));
  const again = await settle(ds.deleteConversation({ conversationId: s.fork.id }));
  assert.equal(again.ok, false, 'deleting a deleted conversation succeeded');
});

test('clearAllConversations: 201 {acknowledged, deletedCount}; nothing is left, archived included', async () => {
  need('ready', 'copy', 'imported');
  chat.as(s.carol);
  const r = await ds.clearAllConversations();
  assert.equal(lastStatus('DELETE', '/api/convos/all'), 201);
  assert.deepEqual(r, { acknowledged: true, deletedCount: 4 }, 'alpha, beta, the archived copy and the import');
  assert.deepEqual(await sidebar(), { conversations: [], nextCursor: null });
  assert.deepEqual(await ds.listConversations({ isArchived: true }), { conversations: [], nextCursor: null });
  for (const id of [s.alpha.id, s.beta.id, s.copy.id, s.imported.id]) {
    const m = await settle(ds.getMessagesByConvoId(id));
    assert.equal(m.status, 404, `messages of ${id} after clear all`);
  }
});
