// Saved presets through the package's dataService, against the main runner:
// save the current settings as a preset, import one, edit it, make one the
// default for new chats and take that back, delete one and delete all, and
// what a second user can see and change of them. The bodies are built as
// the client builds them (its cleanupPreset over parseConvo, and the stored
// document sent back as it is for the default switch and for delete).
// Steps share state and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OBJECT_ID, loadClient, requireBaseURL, settle } from './harness.mjs';
import { ISO_MS, UUID, chatClient, lastRequest } from './chatflow.mjs';

const BASE_URL = requireBaseURL('BASE_URL');
const { dp, log } = await loadClient(BASE_URL);
const ds = dp.dataService;

const s = {};
const chat = chatClient({ dp, baseURL: BASE_URL });

function need(...keys) {
  for (const k of keys) assert.ok(s[k], `an earlier step failed: this step needs "${k}"`);
}

/** Status of the last request to pathPrefix (dataService returns only the body). */
const lastStatus = (method, pathPrefix) => lastRequest(log, method, pathPrefix)?.status;

/**
 * The client's cleanupPreset (client/src/utils/cleanupPreset.ts): the
 * deprecated chatGptLabel becomes modelLabel, parseConvo keeps the
 * endpoint's settings, and presetId (null for a new preset), endpoint,
 * endpointType and title are set.
 */
function cleanupPreset(source) {
  const { endpoint, endpointType } = source;
  const { presetOverride = {}, ...rest } = source;
  const preset = { ...rest, ...presetOverride };
  if (preset.chatGptLabel && preset.modelLabel) {
    delete preset.chatGptLabel;
  } else if (preset.chatGptLabel && !preset.modelLabel) {
    preset.modelLabel = preset.chatGptLabel;
    delete preset.chatGptLabel;
  } else if ('chatGptLabel' in preset) {
    delete preset.chatGptLabel;
  }
  const parsed = dp.parseConvo({ endpoint, endpointType, conversation: preset });
  return { presetId: source.presetId ?? null, ...parsed, endpoint, endpointType, title: source.title ?? 'New Preset' };
}

/** The conversation the client holds for a new openAI chat whose settings were changed. */
const CONVERSATION = {
  conversationId: 'new',
  title: 'New Chat',
  endpoint: 'openAI',
  model: 'gpt-4o',
  chatGptLabel: 'Brief helper',
  promptPrefix: 'Answer in one sentence.',
  temperature: 0.3,
  top_p: 0.9,
  maxContextTokens: 4000,
  createdAt: '',
  updatedAt: '',
  files: [],
  tools: [],
};

const titles = (list) => list.map((p) => p.title);
const defaults = (list) => list.filter((p) => p.defaultPreset).map((p) => p.presetId);

/** Checks a stored preset document of the user. */
function checkDocument(p, user, where) {
  assert.match(p._id, OBJECT_ID, `${where}: _id`);
  assert.match(p.presetId, UUID, `${where}: presetId`);
  assert.equal(p.user, user.user.id, `${where}: user (the client refetches when presets[0].user is not the user's id)`);
  assert.match(p.createdAt, ISO_MS, `${where}: createdAt`);
  assert.match(p.updatedAt, ISO_MS, `${where}: updatedAt`);
  assert.ok(p.updatedAt >= p.createdAt, `${where}: updatedAt before createdAt`);
}

// ---------------------------------------------------------------- setup

test('setup: two users without presets (transcripts/13)', async () => {
  s.pat = await chat.signUp('presets_p');
  s.quinn = await chat.signUp('presets_q');
  for (const who of [s.pat, s.quinn]) {
    chat.as(who);
    assert.deepEqual(await ds.getPresets(), []);
    const e = lastRequest(log, 'GET', '/api/presets');
    assert.equal(e.path, '/api/presets');
    assert.equal(e.status, 200);
  }
  chat.as(s.pat);
  const cfg = await ds.getStartupConfig();
  assert.notEqual(cfg.interface?.presets, false, 'the presets menu is hidden (interface.presets is false)');
  s.ready = true;
});

// ---------------------------------------------------------------- create, import, edit

test('createPreset "save as preset": presetId null gets a new preset, 201 with the stored document', async () => {
  need('ready');
  chat.as(s.pat);
  const body = cleanupPreset({ ...CONVERSATION, title: 'One-liner' });
  assert.equal(body.presetId, null);
  assert.equal(body.modelLabel, 'Brief helper');
  const p = await ds.createPreset(body);
  const e = lastRequest(log, 'POST', '/api/presets');
  assert.equal(e.path, '/api/presets');
  assert.equal(e.status, 201);
  checkDocument(p, s.pat, 'created preset');
  assert.equal(p.title, 'One-liner');
  assert.equal(p.endpoint, 'openAI');
  assert.equal(p.model, 'gpt-4o');
  assert.equal(p.modelLabel, 'Brief helper');
  assert.equal(p.promptPrefix, 'Answer in one sentence.');
  assert.equal(p.temperature, 0.3);
  assert.equal(p.top_p, 0.9);
  assert.equal(p.maxContextTokens, 4000);
  assert.ok(!p.defaultPreset, `a new preset is not the default: ${JSON.stringify(p)}`);
  assert.equal(p.chatGptLabel, undefined);
  for (const k of ['conversationId', 'files', 'messages']) assert.equal(p[k], undefined, `the preset stores ${k}`);
  assert.deepEqual(await ds.getPresets(), [p], 'the list holds the document create answered');
  s.one = p;
});

test('createPreset "import": an exported preset comes back as a second preset with its own id', async () => {
  need('one');
  chat.as(s.pat);
  // The export is cleanupPreset of the preset; the import sends it again with presetId null.
  const exported = JSON.parse(JSON.stringify(cleanupPreset({ ...s.one, title: 'Imported one-liner' })));
  const p = await ds.createPreset({ ...cleanupPreset(exported), presetId: null });
  assert.equal(lastStatus('POST', '/api/presets'), 201);
  checkDocument(p, s.pat, 'imported preset');
  assert.notEqual(p.presetId, s.one.presetId);
  assert.notEqual(p._id, s.one._id);
  assert.equal(p.title, 'Imported one-liner');
  assert.equal(p.temperature, 0.3);
  const list = await ds.getPresets();
  assert.deepEqual(new Set(list.map((x) => x.presetId)), new Set([s.one.presetId, p.presetId]));
  assert.deepEqual(list.find((x) => x.presetId === s.one.presetId), s.one, 'the first preset is untouched');
  s.two = p;
});

test('updatePreset "edit": the same presetId is updated in place, its _id and createdAt kept', async () => {
  need('one', 'two');
  chat.as(s.pat);
  const edited = cleanupPreset({ ...s.one, title: 'One-liner (cool)', temperature: 0.1 });
  assert.equal(edited.presetId, s.one.presetId);
  const p = await ds.updatePreset(edited);
  assert.equal(lastStatus('POST', '/api/presets'), 201);
  checkDocument(p, s.pat, 'edited preset');
  assert.equal(p.presetId, s.one.presetId);
  assert.equal(p._id, s.one._id);
  assert.equal(p.createdAt, s.one.createdAt);
  assert.ok(p.updatedAt >= s.one.updatedAt, 'updatedAt moves forward');
  assert.equal(p.title, 'One-liner (cool)');
  assert.equal(p.temperature, 0.1);
  assert.equal(p.model, 'gpt-4o');
  assert.equal(p.modelLabel, 'Brief helper');
  const list = await ds.getPresets();
  assert.equal(list.length, 2, `edit added a preset: ${JSON.stringify(titles(list))}`);
  assert.deepEqual(list.find((x) => x.presetId === s.one.presetId), p);
  assert.deepEqual(list.find((x) => x.presetId === s.two.presetId), s.two, 'the other preset is untouched');
  s.one = p;
});

// ---------------------------------------------------------------- the default preset

test('defaultPreset: the stored document sent back with defaultPreset true makes it the one default, listed first', async () => {
  need('one', 'two');
  chat.as(s.pat);
  // onSetDefaultPreset(preset) sends the list item itself with the flag.
  const listed = (await ds.getPresets()).find((x) => x.presetId === s.two.presetId);
  const p = await ds.updatePreset({ ...listed, defaultPreset: true });
  assert.equal(lastStatus('POST', '/api/presets'), 201);
  checkDocument(p, s.pat, 'default preset');
  assert.equal(p.presetId, s.two.presetId);
  assert.equal(p._id, s.two._id);
  assert.equal(p.defaultPreset, true);
  assert.equal(p.order, 0, 'LibreChat gives the default preset order 0');
  assert.equal(p.title, s.two.title);
  const list = await ds.getPresets();
  assert.deepEqual(defaults(list), [s.two.presetId]);
  assert.equal(list[0].presetId, s.two.presetId, `the default comes first: ${JSON.stringify(titles(list))}`);
  assert.equal(list[0].user, s.pat.user.id);

  // Making the other one the default takes the flag (and the order) from the first.
  const other = list.find((x) => x.presetId === s.one.presetId);
  const q = await ds.updatePreset({ ...other, defaultPreset: true });
  assert.equal(q.defaultPreset, true);
  assert.equal(q.order, 0);
  const after = await ds.getPresets();
  assert.deepEqual(defaults(after), [s.one.presetId], 'exactly one default');
  assert.equal(after[0].presetId, s.one.presetId);
  const former = after.find((x) => x.presetId === s.two.presetId);
  assert.ok(!former.defaultPreset, `the former default keeps its flag: ${JSON.stringify(former)}`);
  assert.equal(former.order, undefined, 'the former default keeps its order');
  assert.equal(former.title, s.two.title);
  s.defaultSet = true;
});

test('defaultPreset: editing the default keeps it the default; defaultPreset false removes the flag', async () => {
  need('defaultSet');
  chat.as(s.pat);
  const current = (await ds.getPresets()).find((x) => x.presetId === s.one.presetId);
  // The edit dialog's body is cleanupPreset of the preset: no defaultPreset key.
  const body = cleanupPreset({ ...current, title: 'One-liner (default)' });
  assert.equal('defaultPreset' in body, false);
  const edited = await ds.updatePreset(body);
  assert.equal(edited.title, 'One-liner (default)');
  assert.equal(edited.defaultPreset, true, 'an edit without the flag unset the default');
  assert.deepEqual(defaults(await ds.getPresets()), [s.one.presetId]);

  const listed = (await ds.getPresets()).find((x) => x.presetId === s.one.presetId);
  const removed = await ds.updatePreset({ ...listed, defaultPreset: false });
  assert.equal(lastStatus('POST', '/api/presets'), 201);
  assert.ok(!removed.defaultPreset, `defaultPreset after removal: ${JSON.stringify(removed)}`);
  assert.equal(removed.order, undefined, 'the order goes with the flag');
  assert.equal(removed.presetId, s.one.presetId);
  assert.equal(removed.title, 'One-liner (default)');
  const list = await ds.getPresets();
  assert.deepEqual(defaults(list), [], 'no default is left');
  assert.equal(list.length, 2);
  s.one = removed;
});

// ---------------------------------------------------------------- another user

test("cross-user: quinn sees none of pat's presets and cannot change or delete them", async () => {
  need('one', 'two');
  chat.as(s.pat);
  const listed = await ds.getPresets();
  const theirs = listed.find((x) => x.presetId === s.two.presetId);
  await ds.updatePreset({ ...theirs, defaultPreset: true });
  const before = await ds.getPresets();
  assert.deepEqual(defaults(before), [s.two.presetId]);

  chat.as(s.quinn);
  try {
    assert.deepEqual(await ds.getPresets(), []);
    // Saving with pat's presetId must neither change pat's preset nor take it over.
    for (const [name, body] of Object.entries({
      'edit with the stored document': { ...theirs, title: 'taken over', temperature: 1.5 },
      'edit through cleanupPreset': cleanupPreset({ ...theirs, title: 'taken over' }),
      'set as default': { ...theirs, defaultPreset: true },
    })) {
      const r = await settle(ds.updatePreset(body));
      assert.equal(r.ok, false, `quinn's ${name} of pat's preset succeeded: ${JSON.stringify(r.value)}`);
      assert.equal(r.status, 404, `quinn's ${name}: ${r.status} ${JSON.stringify(r.data)}`);
    }
    // Deleting pat's preset deletes nothing: 404, or LibreChat's 201 with deletedCount 0.
    const del = await settle(ds.deletePreset(theirs));
    if (del.ok) {
      assert.deepEqual(del.value, { acknowledged: true, deletedCount: 0 }, "quinn's delete of pat's preset");
    } else {
      assert.equal(del.status, 404, `quinn's delete of pat's preset: ${del.status} ${JSON.stringify(del.data)}`);
    }
    // "Delete all" deletes quinn's presets only.
    const all = await ds.deletePreset(undefined);
    assert.equal(lastStatus('POST', '/api/presets/delete'), 201);
    assert.deepEqual(all, { acknowledged: true, deletedCount: 0 });
    assert.deepEqual(await ds.getPresets(), []);

    // A preset quinn saves is his own, with a presetId of its own.
    const mine = await ds.createPreset(cleanupPreset({ ...CONVERSATION, title: 'Quinn preset' }));
    checkDocument(mine, s.quinn, "quinn's preset");
    assert.ok(![s.one.presetId, s.two.presetId].includes(mine.presetId));
    assert.deepEqual(await ds.getPresets(), [mine]);
    assert.deepEqual(await ds.deletePreset(mine), { acknowledged: true, deletedCount: 1 });
  } finally {
    chat.as(s.pat);
  }
  assert.deepEqual(await ds.getPresets(), before, "pat's presets changed");
});

// ---------------------------------------------------------------- delete

test('deletePreset(preset): the stored document posted to /api/presets/delete removes that one (201)', async () => {
  need('one', 'two');
  chat.as(s.pat);
  const listed = (await ds.getPresets()).find((x) => x.presetId === s.one.presetId);
  const r = await ds.deletePreset(listed);
  const e = lastRequest(log, 'POST', '/api/presets/delete');
  assert.equal(e.path, '/api/presets/delete');
  assert.equal(e.status, 201);
  assert.deepEqual(r, { acknowledged: true, deletedCount: 1 });
  const list = await ds.getPresets();
  assert.deepEqual(list.map((x) => x.presetId), [s.two.presetId]);
  const again = await settle(ds.deletePreset(listed));
  if (again.ok) assert.deepEqual(again.value, { acknowledged: true, deletedCount: 0 });
  else assert.equal(again.status, 404, `second delete: ${again.status} ${JSON.stringify(again.data)}`);
  assert.equal((await ds.getPresets()).length, 1);
});

test('deletePreset(undefined) "clear all": no body deletes every preset of the user (201 with the count)', async () => {
  need('two');
  chat.as(s.pat);
  await ds.createPreset(cleanupPreset({ ...CONVERSATION, title: 'Third' }));
  assert.equal((await ds.getPresets()).length, 2);
  const r = await ds.deletePreset(undefined);
  const e = lastRequest(log, 'POST', '/api/presets/delete');
  assert.equal(e.status, 201);
  assert.deepEqual(r, { acknowledged: true, deletedCount: 2 });
  assert.deepEqual(await ds.getPresets(), []);
  const none = await ds.deletePreset(undefined);
  assert.deepEqual(none, { acknowledged: true, deletedCount: 0 });
});
