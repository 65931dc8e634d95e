// Token refresh through the package's own axios interceptors, against a
// runner whose access tokens live 2 seconds (SESSION_EXPIRY=2000):
//   - proactive: a token that expires within 2 minutes is refreshed before
//     the request goes out;
//   - reactive: a request sent with an expired token gets 401, the package
//     calls POST /api/auth/refresh with the cookie and replays the request;
//   - a refresh without a session sends the client to /login.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeLog, jwtPayload, loadClient, newUser, requireBaseURL, settle, sleep } from './harness.mjs';

const BASE_URL = requireBaseURL('SHORT_SESSION_BASE_URL');
const { dp, jar, log, win } = await loadClient(BASE_URL);
const ds = dp.dataService;

const bob = newUser('session');
const s = {};

const shape = (entries) => entries.map((e) => `${e.method} ${e.path} ${e.status}`);
const bearer = () => (dp.getTokenHeader() ?? '').replace(/^Bearer /, '');

/** Waits until the current access token is expired for both client and server. */
async function waitForExpiry() {
  const { exp } = jwtPayload(bearer());
  // exp has whole-second precision: one extra second makes the server's
  // "now > exp" true whatever its rounding.
  const wait = exp * 1000 + 1100 - Date.now();
  if (wait > 0) await sleep(wait);
}

function needLogin() {
  assert.ok(s.user, 'an earlier step (login) failed; this step needs a session');
}

test('login on a runner with SESSION_EXPIRY=2000 issues a 2-second access token', async () => {
  const reg = await settle(ds.register(bob));
  assert.ok(reg.ok, `register: ${reg.status} ${JSON.stringify(reg.data)}`);
  const t0 = Date.now();
  const r = await settle(ds.login({ email: bob.email, password: bob.password }));
  assert.ok(r.ok, `login: ${r.status} ${JSON.stringify(r.data)}`);
  const { exp } = jwtPayload(r.value.token);
  const lifetime = exp * 1000 - t0;
  assert.ok(lifetime > 0 && lifetime <= 3000, `access token lifetime ${lifetime} ms, want about 2000 (SESSION_EXPIRY is milliseconds)`);
  assert.ok(jar.get('refreshToken')?.value, 'no refreshToken cookie');
  dp.setTokenHeader(r.value.token);
  s.user = r.value.user;
});

test('proactive refresh: a token about to expire is refreshed before getUser is sent', async () => {
  needLogin();
  const old = bearer();
  assert.ok(jwtPayload(old).exp * 1000 > Date.now(), 'token already expired; the runner is too slow for this test');
  const mark = log.length;
  const events = win.events.length;

  const u = await ds.getUser();
  assert.equal(u.id, s.user.id);

  const sent = log.slice(mark);
  assert.deepEqual(shape(sent), ['POST /api/auth/refresh 200', 'GET /api/user 200'], describeLog(sent));
  const [refresh, get] = sent;
  assert.ok(refresh.cookie?.includes('refreshToken='), `refresh sent no cookie: ${refresh.cookie}`);
  const fresh = refresh.data?.token;
  assert.equal(typeof fresh, 'string', `refresh answer: ${JSON.stringify(refresh.data)}`);
  assert.equal(get.authorization, `Bearer ${fresh}`, 'getUser was not sent with the refreshed token');
  assert.equal(bearer(), fresh);
  assert.ok(
    win.events.slice(events).some((e) => e.type === 'tokenUpdated' && e.detail === fresh),
    'the package did not announce the new token',
  );
});

test('refresh on 401: an expired token gets 401, the interceptor refreshes with the cookie and retries', async () => {
  needLogin();
  await waitForExpiry();
  const expired = bearer();
  assert.ok(jwtPayload(expired).exp * 1000 < Date.now());
  const mark = log.length;

  const r = await settle(ds.getUser());
  const sent = log.slice(mark);
  assert.ok(r.ok, `getUser with an expired token was not recovered: ${r.status} ${JSON.stringify(r.data)}\n${describeLog(sent)}`);
  assert.equal(r.value.id, s.user.id);

  // First the request with the expired token, answered 401 ...
  assert.ok(sent.length >= 3, describeLog(sent));
  assert.equal(`${sent[0].method} ${sent[0].path}`, 'GET /api/user');
  assert.equal(sent[0].authorization, `Bearer ${expired}`);
  assert.equal(sent[0].status, 401, `the server accepted an expired token:\n${describeLog(sent)}`);
  // ... then the refresh (the replay may trigger one more proactive refresh,
  // since a 2-second token is always "about to expire") ...
  const refreshes = sent.slice(1, -1);
  assert.ok(refreshes.length >= 1 && refreshes.length <= 2, describeLog(sent));
  for (const e of refreshes) {
    assert.equal(`${e.method} ${e.path} ${e.status}`, 'POST /api/auth/refresh 200', describeLog(sent));
    assert.ok(e.cookie?.includes('refreshToken='), 'refresh sent no cookie');
    assert.equal(typeof e.data?.token, 'string', `refresh answer: ${JSON.stringify(e.data)}`);
  }
  // ... and the replay with the new token.
  const last = sent[sent.length - 1];
  assert.equal(`${last.method} ${last.path} ${last.status}`, 'GET /api/user 200');
  const fresh = refreshes[refreshes.length - 1].data.token;
  assert.equal(last.authorization, `Bearer ${fresh}`);
  assert.equal(bearer(), fresh);
  assert.equal(sent.filter((e) => e.path === '/api/user').length, 2, 'getUser must be replayed exactly once');
  assert.deepEqual(win.location.navigations, []);
});

test('refresh on 401 without a session: no token comes back and the package sends the client to /login', async () => {
  needLogin();
  // The session cookie is gone (cleared, or another tab logged out).
  jar.delete('refreshToken');
  await waitForExpiry();
  const mark = log.length;

  const r = await settle(ds.getUser());
  const sent = log.slice(mark);
  assert.equal(r.ok, false, 'getUser succeeded without a session');
  assert.equal(r.status, 401);
  assert.deepEqual(
    shape(sent),
    ['GET /api/user 401', 'POST /api/auth/refresh 200'],
    `expected one refresh answered 200 without a token (transcripts/22):\n${describeLog(sent)}`,
  );
  assert.equal(sent[1].data?.token, undefined);
  assert.deepEqual(win.location.navigations, ['/login?redirect_to=%2Fc%2Fnew']);
});
