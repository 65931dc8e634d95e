// Shared links through the package's dataService, against the chat runner:
// the share dialog's link lookup and create, the settings list, refresh
// (update), delete, a link to one branch (targetMessageId), and the public
// page /share/:shareId, which reads the snapshot without a token (plain
// fetch, no Authorization header) and must show the shared messages and
// nothing of the owner. Also what a second user can see and change of the
// first user's links. Steps share state and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClient, requireBaseURL, settle } from './harness.mjs';
import { ISO_MS, chatClient, endpointOptionFor, lastRequest, partsText } from './chatflow.mjs';

const BASE_URL = requireBaseURL('CHAT_BASE_URL');
const { dp, log } = await loadClient(BASE_URL);
const ds = dp.dataService;
const NO_PARENT = dp.Constants.NO_PARENT;

const s = {};
let chat = chatClient({ dp, baseURL: BASE_URL });

function need(...keys) {
  for (const k of keys) assert.ok(s[k], `an earlier step failed: this step needs "${k}"`);
}

/** A nanoid as LibreChat makes share ids. */
const SHARE_ID = /^[A-Za-z0-9_-]{21}$/;
/** The settings dialog's query (transcripts/49). */
const LIST = { pageSize: 25, sortBy: 'createdAt', sortDirection: 'desc' };
const listLinks = (extra = {}) => ds.listSharedLinks({ ...LIST, ...extra });
const shareIds = (page) => page.links.map((l) => l.shareId);

/** GET /api/share/:shareId as the public share page sends it: no token, no cookie. */
async function publicView(shareId) {
  const res = await fetch(`${BASE_URL}/api/share/${encodeURIComponent(shareId)}`, {
    headers: { Accept: 'application/json, text/plain, */*' },
  });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, body };
}

/** The text a message shows: its text, or its content's text parts. */
const shown = (m) => m.text || partsText(m.content);

/**
 * Checks a public snapshot: the keys the share page reads, anonymized ids
 * that still form the thread, the texts of `expected` (the owner's
 * messages, in order), and nothing that identifies the owner or the
 * original conversation.
 */
function checkView(view, { shareId, title, expected }) {
  const where = `share ${shareId}`;
  for (const k of ['shareId', 'title', 'conversationId', 'messages', 'createdAt', 'updatedAt']) {
    assert.ok(k in view, `${where}: no ${k} in ${JSON.stringify(view).slice(0, 300)}`);
  }
  assert.equal(view.shareId, shareId);
  assert.equal(view.title, title);
  assert.match(view.createdAt, ISO_MS);
  assert.match(view.updatedAt, ISO_MS);
  assert.equal(typeof view.conversationId, 'string');
  assert.notEqual(view.conversationId, s.id, `${where}: the real conversation id is shown`);
  assert.ok(Array.isArray(view.messages), `${where}: messages`);
  assert.deepEqual(view.messages.map(shown), expected.map(shown), `${where}: the shared texts`);
  assert.deepEqual(view.messages.map((m) => m.isCreatedByUser), expected.map((m) => m.isCreatedByUser));
  assert.deepEqual(view.messages.map((m) => m.sender), expected.map((m) => m.sender));
  const realIds = new Set(expected.map((m) => m.messageId));
  for (const [i, m] of view.messages.entries()) {
    assert.equal(m.conversationId, view.conversationId, `${where}: message ${i} conversationId`);
    assert.equal(typeof m.messageId, 'string');
    assert.ok(!realIds.has(m.messageId), `${where}: message ${i} keeps its real id`);
    assert.equal(m.parentMessageId, i === 0 ? NO_PARENT : view.messages[i - 1].messageId, `${where}: message ${i} parent`);
    assert.equal(m.user, undefined, `${where}: message ${i} has a user`);
  }
  // The share page renders the snapshot with buildTree: one thread.
  const roots = dp.buildTree({ messages: view.messages });
  assert.equal(roots.length, 1, `${where}: ${roots.length} roots`);
  let node = roots[0];
  let depth = 1;
  while (node.children.length) {
    assert.equal(node.children.length, 1, `${where}: a branch in a linear snapshot`);
    node = node.children[0];
    depth++;
  }
  assert.equal(depth, expected.length);
  // Nothing of the owner: no user id, e-mail, user name or real ids anywhere.
  const raw = JSON.stringify(view);
  const owner = s.gina;
  for (const secret of [owner.user.id, owner.user.email, owner.user.username, owner.credentials.email, s.id, ...realIds]) {
    assert.ok(secret && !raw.includes(secret), `${where}: the public view contains ${JSON.stringify(secret)}`);
  }
  assert.equal(view.user, undefined);
}

// ---------------------------------------------------------------- setup

test('setup: gina has a titled conversation, hank none; shared links are on', async () => {
  s.gina = await chat.signUp('share_g');
  s.hank = await chat.signUp('share_h');
  chat.as(s.gina);
  const cfg = await ds.getStartupConfig();
  assert.equal(cfg.sharedLinksEnabled, true, 'sharedLinksEnabled');
  assert.equal(cfg.publicSharedLinksEnabled, true, 'publicSharedLinksEnabled');
  chat = chatClient({ dp, baseURL: BASE_URL, endpointOption: await endpointOptionFor(dp) });
  const t = await chat.turn({ text: 'tell me about lighthouses' });
  const gt = await settle(ds.genTitle({ conversationId: t.id }));
  assert.ok(gt.ok, `gen_title: ${gt.status} ${JSON.stringify(gt.data)}`);
  s.id = t.id;
  s.title = gt.value.title;
  s.u1 = t.created.messageId;
  s.r1 = t.final.responseMessage.messageId;
  s.ready = true;
});

// ---------------------------------------------------------------- no link yet

test('listSharedLinks with the settings query: {links: [], hasNextPage: false} (transcripts/49)', async () => {
  need('ready');
  chat.as(s.gina);
  const page = await listLinks();
  const e = lastRequest(log, 'GET', '/api/share');
  assert.equal(e.path, '/api/share?pageSize=25&sortBy=createdAt&sortDirection=desc');
  assert.equal(e.status, 200);
  assert.deepEqual(page.links, []);
  assert.equal(page.hasNextPage, false);
  assert.equal(page.nextCursor ?? null, null);
});

test('getSharedLink before sharing: {success: false, shareId: null, conversationId}', async () => {
  need('ready');
  chat.as(s.gina);
  const r = await ds.getSharedLink(s.id);
  const e = lastRequest(log, 'GET', '/api/share/link/');
  assert.equal(e.path, `/api/share/link/${s.id}`);
  assert.equal(e.status, 200);
  assert.deepEqual(r, { success: false, shareId: null, conversationId: s.id });
});

// ---------------------------------------------------------------- create and view

test('createSharedLink: {shareId, conversationId}; the dialog, the list and the public page find it', async () => {
  need('ready');
  chat.as(s.gina);
  const r = await ds.createSharedLink(s.id);
  const e = lastRequest(log, 'POST', '/api/share/');
  assert.equal(e.path, `/api/share/${s.id}`);
  assert.equal(e.status, 200);
  assert.match(r.shareId, SHARE_ID);
  assert.equal(r.conversationId, s.id);
  s.share = r.shareId;

  const link = await ds.getSharedLink(s.id);
  assert.equal(link.success, true);
  assert.equal(link.shareId, s.share);
  assert.equal(link.conversationId, s.id);

  const page = await listLinks();
  assert.equal(page.links.length, 1);
  const item = page.links[0];
  assert.equal(item.shareId, s.share);
  assert.equal(item.title, s.title);
  assert.equal(item.conversationId, s.id);
  assert.match(item.createdAt, ISO_MS);
  assert.equal(page.hasNextPage, false);

  const again = await settle(ds.createSharedLink(s.id));
  assert.equal(again.ok, false, `a second link for the same conversation: ${JSON.stringify(again.value)}`);
  assert.ok(again.status >= 400, `second create: ${again.status}`);
  assert.deepEqual(shareIds(await listLinks()), [s.share], 'a refused create adds no link');
});

test('public view: GET /api/share/:shareId without a token shows the shared messages, anonymized', async () => {
  need('share');
  chat.as(s.gina);
  const own = await ds.getMessagesByConvoId(s.id);
  assert.equal(own.length, 2);
  const v = await publicView(s.share);
  assert.equal(v.status, 200, `public view: ${v.status} ${v.text.slice(0, 300)}`);
  assert.match(v.contentType, /^application\/json/);
  checkView(v.body, { shareId: s.share, title: s.title, expected: own });
  // The page's startup settings are public too.
  const cfg = await fetch(`${BASE_URL}/api/share/${s.share}/config`);
  assert.equal(cfg.status, 200);
  const body = await cfg.json();
  assert.equal(typeof body.appTitle, 'string');
  const missing = await publicView('nOnExIsTeNtShArEiD_00');
  assert.equal(missing.status, 404, `unknown share id: ${missing.status} ${missing.text}`);
});

test('the snapshot is taken at create: a later turn is not shown until the link is refreshed', async () => {
  need('share');
  chat.as(s.gina);
  const t = await chat.turn({ text: 'and their keepers', conversationId: s.id, parentMessageId: s.r1 });
  s.u2 = t.created.messageId;
  s.r2 = t.final.responseMessage.messageId;
  const own = await ds.getMessagesByConvoId(s.id);
  assert.equal(own.length, 4);
  const v = await publicView(s.share);
  assert.equal(v.status, 200);
  checkView(v.body, { shareId: s.share, title: s.title, expected: own.slice(0, 2) });
  s.followUp = true;
});

// ---------------------------------------------------------------- refresh

test('updateSharedLink: PATCH gives a new shareId with a new snapshot; the old link stops working', async () => {
  need('share', 'followUp');
  chat.as(s.gina);
  const r = await ds.updateSharedLink(s.share);
  const e = lastRequest(log, 'PATCH', '/api/share/');
  assert.equal(e.path, `/api/share/${s.share}`);
  assert.equal(e.status, 200);
  assert.match(r.shareId, SHARE_ID);
  assert.notEqual(r.shareId, s.share, 'a refreshed link gets a new id');
  assert.equal(r.conversationId, s.id);

  const old = await publicView(s.share);
  assert.equal(old.status, 404, `the old link after refresh: ${old.status} ${old.text.slice(0, 200)}`);
  const own = await ds.getMessagesByConvoId(s.id);
  const v = await publicView(r.shareId);
  assert.equal(v.status, 200);
  checkView(v.body, { shareId: r.shareId, title: s.title, expected: own });

  const link = await ds.getSharedLink(s.id);
  assert.equal(link.success, true);
  assert.equal(link.shareId, r.shareId);
  assert.deepEqual(shareIds(await listLinks()), [r.shareId]);
  const stale = await settle(ds.updateSharedLink(s.share));
  assert.equal(stale.status, 404, `refreshing the old id: ${stale.status} ${JSON.stringify(stale.data)}`);
  s.share = r.shareId;
  s.refreshed = true;
});

// ---------------------------------------------------------------- another user

test("cross-user: hank can open the public link but cannot see, create, refresh or delete gina's links", async () => {
  need('refreshed');
  chat.as(s.gina);
  const pageBefore = await listLinks();
  const linkBefore = await ds.getSharedLink(s.id);
  const own = await ds.getMessagesByConvoId(s.id);

  chat.as(s.hank);
  try {
    assert.deepEqual((await listLinks()).links, [], "hank's list shows gina's links");
    assert.deepEqual(await ds.getSharedLink(s.id), { success: false, shareId: null, conversationId: s.id });
    const create = await settle(ds.createSharedLink(s.id));
    assert.equal(create.ok, false, `hank shared gina's conversation: ${JSON.stringify(create.value)}`);
    assert.equal(create.status, 404, `hank's create: ${create.status} ${JSON.stringify(create.data)}`);
    const update = await settle(ds.updateSharedLink(s.share));
    assert.equal(update.ok, false, `hank refreshed gina's link: ${JSON.stringify(update.value)}`);
    assert.equal(update.status, 404, `hank's update: ${update.status} ${JSON.stringify(update.data)}`);
    const del = await settle(ds.deleteSharedLink(s.share));
    assert.equal(del.ok, false, `hank deleted gina's link: ${JSON.stringify(del.value)}`);
    assert.equal(del.status, 404, `hank's delete: ${del.status} ${JSON.stringify(del.data)}`);
    assert.equal(del.data?.message, 'Share not found', `hank's delete: ${JSON.stringify(del.data)}`);
    // A public link is public: signed in as someone else, the client's own
    // call reads the same snapshot, still without the owner.
    const view = await ds.getSharedMessages(s.share);
    assert.equal(lastRequest(log, 'GET', '/api/share/').path, `/api/share/${s.share}`);
    checkView(view, { shareId: s.share, title: s.title, expected: own });
  } finally {
    chat.as(s.gina);
  }
  assert.deepEqual(await listLinks(), pageBefore, "gina's links changed");
  assert.deepEqual(await ds.getSharedLink(s.id), linkBefore);
  const v = await publicView(s.share);
  assert.equal(v.status, 200, "gina's link stopped working");
  checkView(v.body, { shareId: s.share, title: s.title, expected: own });
});

// ---------------------------------------------------------------- delete

test('deleteSharedLink: {success, shareId, message}; the public page, the dialog and the list forget it', async () => {
  need('refreshed');
  chat.as(s.gina);
  const r = await ds.deleteSharedLink(s.share);
  const e = lastRequest(log, 'DELETE', '/api/share/');
  assert.equal(e.path, `/api/share/${s.share}`);
  assert.equal(e.status, 200);
  assert.deepEqual(r, { success: true, shareId: s.share, message: 'Share deleted successfully' });
  const v = await publicView(s.share);
  assert.equal(v.status, 404, `public view after delete: ${v.status} ${v.text.slice(0, 200)}`);
  assert.deepEqual(await ds.getSharedLink(s.id), { success: false, shareId: null, conversationId: s.id });
  assert.deepEqual((await listLinks()).links, []);
  const again = await settle(ds.deleteSharedLink(s.share));
  assert.equal(again.status, 404, `second delete: ${again.status} ${JSON.stringify(again.data)}`);
  assert.equal(again.data?.message, 'Share not found');
  assert.equal((await ds.getMessagesByConvoId(s.id)).length, 4, 'deleting the link leaves the conversation alone');
  s.deleted = true;
});

test('createSharedLink with targetMessageId shares the branch up to that message only', async () => {
  need('deleted');
  chat.as(s.gina);
  const r = await ds.createSharedLink(s.id, s.r1);
  assert.equal(lastRequest(log, 'POST', '/api/share/').status, 200);
  assert.match(r.shareId, SHARE_ID);
  assert.equal(r.conversationId, s.id);
  const own = await ds.getMessagesByConvoId(s.id);
  const v = await publicView(r.shareId);
  assert.equal(v.status, 200);
  checkView(v.body, { shareId: r.shareId, title: s.title, expected: own.filter((m) => [s.u1, s.r1].includes(m.messageId)) });
  assert.equal((await ds.getSharedLink(s.id)).shareId, r.shareId);
  s.branchShare = r.shareId;
});

test('deleting the conversation takes its public link down', async () => {
  need('branchShare');
  chat.as(s.gina);
  assert.equal((await publicView(s.branchShare)).status, 200);
  await ds.deleteConversation({ conversationId: s.id });
  const v = await publicView(s.branchShare);
  assert.equal(v.status, 404, `public view of a deleted conversation: ${v.status} ${v.text.slice(0, 300)}`);
  const cfg = await fetch(`${BASE_URL}/api/share/${s.branchShare}/config`);
  assert.equal(cfg.status, 404, `share config of a deleted conversation: ${cfg.status}`);
  // LibreChat deletes a conversation's links with it (deleteConvoSharedLink).
  assert.deepEqual((await listLinks()).links, [], 'the settings list still shows the link of a deleted conversation');
  assert.deepEqual(await ds.getSharedLink(s.id), { success: false, shareId: null, conversationId: s.id });
});

test("clearAllConversations takes all of the user's links down and leaves another user's alone", async () => {
  need('ready');
  chat.as(s.hank);
  const his = await chat.turn({ text: 'hank shares his own chat' });
  const hisLink = await ds.createSharedLink(his.id);
  const hisPage = await listLinks();
  assert.deepEqual(shareIds(hisPage), [hisLink.shareId]);

  chat.as(s.gina);
  const t = await chat.turn({ text: 'one more chat to share' });
  const link = await ds.createSharedLink(t.id);
  assert.equal((await publicView(link.shareId)).status, 200);
  await ds.clearAllConversations();
  assert.equal(lastRequest(log, 'DELETE', '/api/convos/all').status, 201);
  assert.equal((await publicView(link.shareId)).status, 404, 'a link of a cleared conversation still opens');
  assert.deepEqual((await listLinks()).links, [], 'the settings list still shows links of cleared conversations');
  assert.deepEqual(await ds.getSharedLink(t.id), { success: false, shareId: null, conversationId: t.id });

  const v = await publicView(hisLink.shareId);
  assert.equal(v.status, 200, "gina's clear all took hank's link down");
  chat.as(s.hank);
  try {
    assert.deepEqual(await listLinks(), hisPage, "gina's clear all changed hank's links");
  } finally {
    chat.as(s.gina);
  }
});
