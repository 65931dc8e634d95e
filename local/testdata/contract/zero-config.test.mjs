// A runner started with no provider configuration at all must still give the
// client something to select: the chat view waits for /api/endpoints and
// /api/models and cannot create a conversation without an endpoint that has
// at least one model. (Runs against the short-session runner, which has no
// configuration besides SESSION_EXPIRY.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClient, newUser, requireBaseURL, settle } from './harness.mjs';

const BASE_URL = requireBaseURL('SHORT_SESSION_BASE_URL');
const { dp } = await loadClient(BASE_URL);
const ds = dp.dataService;

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

test('zero-config runner: getAIEndpoints offers an endpoint and getModels lists its models', async () => {
  const carol = newUser('zero');
  const reg = await settle(ds.register(carol));
  assert.ok(reg.ok, `register: ${reg.status} ${JSON.stringify(reg.data)}`);
  const r = await settle(ds.login({ email: carol.email, password: carol.password }));
  assert.ok(r.ok, `login: ${r.status} ${JSON.stringify(r.data)}`);
  dp.setTokenHeader(r.value.token);

  const eps = await ds.getAIEndpoints();
  assert.ok(isPlainObject(eps), `endpoints: ${JSON.stringify(eps)}`);
  const usable = Object.entries(eps).filter(
    ([name, cfg]) => cfg && !['agents', 'assistants', 'azureAssistants'].includes(name),
  );
  assert.ok(usable.length >= 1, `no chat endpoint offered: ${JSON.stringify(eps)}`);

  const models = await ds.getModels();
  for (const [name, cfg] of usable) {
    assert.equal(typeof cfg.order, 'number', `endpoint ${name}: order`);
    // Nobody can supply a key for a provider that was never configured.
    assert.notEqual(cfg.userProvide, true, `endpoint ${name} asks for a user key although no provider is configured`);
    assert.ok(Array.isArray(models[name]) && models[name].length >= 1, `models.${name}: ${JSON.stringify(models[name])}`);
  }
});
