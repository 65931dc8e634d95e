// The LibreChat client's boot and session flow, driven through the published
// librechat-data-provider request layer: logged-out boot, registration,
// login, the post-login boot calls, a page reload (refresh with the cookie)
// and logout. Steps share one browser-like session and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OBJECT_ID,
  describeLog,
  jwtPayload,
  loadClient,
  newUser,
  requireBaseURL,
  settle,
} from './harness.mjs';

const BASE_URL = requireBaseURL('BASE_URL');
const { dp, jar, log, win } = await loadClient(BASE_URL);
const ds = dp.dataService;

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// Keys of the logged-out startup config (transcripts/01-get-config-anon.txt).
const PRE_LOGIN_KEYS = [
  'appTitle', 'discordLoginEnabled', 'facebookLoginEnabled', 'githubLoginEnabled',
  'googleLoginEnabled', 'appleLoginEnabled', 'openidLoginEnabled', 'openidLabel',
  'openidImageUrl', 'openidAutoRedirect', 'samlLoginEnabled', 'samlLabel', 'samlImageUrl',
  'serverDomain', 'emailLoginEnabled', 'registrationEnabled', 'socialLoginEnabled',
  'emailEnabled', 'passwordResetEnabled', 'ldap', 'socialLogins', 'turnstile',
];
// Keys only the logged-in startup config carries (transcripts/08-get-config-auth.txt),
// with the type the client expects.
const POST_LOGIN_KEYS = {
  showBirthdayIcon: 'boolean',
  helpAndFaqURL: 'string',
  sharedLinksEnabled: 'boolean',
  publicSharedLinksEnabled: 'boolean',
  openidReuseTokens: 'boolean',
  allowAccountDeletion: 'boolean',
  sharedLinksSnapshotFilesEnabled: 'boolean',
  interface: 'object',
  titleGenerationTiming: 'string',
  balance: 'object',
  sharePointFilePickerEnabled: 'boolean',
  conversationImportMaxFileSize: 'number',
};
// The login-page switches as LibreChat sets them with no auth-related
// environment (the runner is started with a clean environment).
const DEFAULT_LOGIN_FLAGS = {
  appTitle: 'LibreChat',
  discordLoginEnabled: false,
  facebookLoginEnabled: false,
  githubLoginEnabled: false,
  googleLoginEnabled: false,
  appleLoginEnabled: false,
  openidLoginEnabled: false,
  openidAutoRedirect: false,
  samlLoginEnabled: false,
  emailLoginEnabled: true,
  registrationEnabled: true,
  socialLoginEnabled: false,
  emailEnabled: false,
  passwordResetEnabled: false,
};
// Permission types and their permissions in the USER role (transcripts/12-get-roles-user.txt).
const ROLE_PERMISSION_SHAPE = {
  BOOKMARKS: ['USE'],
  PROMPTS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  MEMORIES: ['USE', 'CREATE', 'UPDATE', 'READ', 'OPT_OUT'],
  AGENTS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  MULTI_CONVO: ['USE'],
  TEMPORARY_CHAT: ['USE'],
  RUN_CODE: ['USE'],
  WEB_SEARCH: ['USE'],
  PEOPLE_PICKER: ['VIEW_USERS', 'VIEW_GROUPS', 'VIEW_ROLES'],
  MARKETPLACE: ['USE'],
  FILE_SEARCH: ['USE'],
  FILE_CITATIONS: ['USE'],
  MCP_SERVERS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC', 'CONFIGURE_OBO'],
  REMOTE_AGENTS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  SKILLS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  SHARED_LINKS: ['CREATE', 'SHARE', 'SHARE_PUBLIC'],
};

const REGISTER_MESSAGE = 'Please check your email to verify your email address.';

const alice = newUser('boot');
/** What earlier steps learned; later steps depend on it. */
const s = {};

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function lastEntry(method, pathPrefix) {
  for (let i = log.length - 1; i >= 0; i--) {
    if (log[i].method === method && log[i].path.startsWith(pathPrefix)) return log[i];
  }
  return undefined;
}

function needLogin() {
  assert.ok(s.token, 'an earlier step (login) failed; this step needs a session');
}

function assertSanitizedUser(u, where) {
  for (const secret of ['password', 'totpSecret', 'hash', 'salt']) {
    assert.equal(u[secret], undefined, `${where}: user object exposes "${secret}"`);
  }
}

// ---------------------------------------------------------------- logged out

test('logged-out boot: refreshToken without a cookie yields no token', async () => {
  assert.equal(jar.names().length, 0);
  const r = await settle(dp.request.refreshToken());
  const e = lastEntry('POST', '/api/auth/refresh');
  assert.ok(e, 'no POST /api/auth/refresh was sent');
  assert.equal(e.cookie, undefined, 'the harness sent a cookie it should not have');
  // transcripts/22: 200 with the plain-text body "Refresh token not provided";
  // the client only checks that there is no token.
  assert.ok(r.ok, `refresh without cookie: expected 200 (transcripts/22), got ${r.status} ${JSON.stringify(r.data)}`);
  assert.equal(e.status, 200);
  assert.equal(r.value?.token, undefined, `refresh without cookie returned a token: ${JSON.stringify(r.value)}`);
  assert.equal(r.value, 'Refresh token not provided');
  assert.deepEqual(jar.names(), [], 'refresh without cookie set cookies');
});

test('logged-out boot: getStartupConfig has the pre-login keys (transcripts/01)', async () => {
  assert.equal(dp.getTokenHeader(), undefined);
  const cfg = await ds.getStartupConfig();
  assert.ok(isPlainObject(cfg), `startup config is not an object: ${JSON.stringify(cfg)}`);
  const missing = PRE_LOGIN_KEYS.filter((k) => !(k in cfg));
  assert.deepEqual(missing, [], `pre-login config lacks keys: ${missing.join(', ')}`);
  for (const [k, v] of Object.entries(DEFAULT_LOGIN_FLAGS)) {
    assert.equal(cfg[k], v, `pre-login config: ${k}`);
  }
  for (const k of ['openidLabel', 'openidImageUrl', 'samlLabel', 'samlImageUrl']) {
    assert.equal(typeof cfg[k], 'string', `pre-login config: ${k} must be a string`);
  }
  assert.equal(cfg.serverDomain, BASE_URL, 'serverDomain must be the origin the runner serves');
  assert.ok(Array.isArray(cfg.socialLogins), 'socialLogins must be an array');
  assert.ok(isPlainObject(cfg.ldap) && cfg.ldap.enabled === false, `ldap: ${JSON.stringify(cfg.ldap)}`);
  assert.ok(isPlainObject(cfg.turnstile), `turnstile: ${JSON.stringify(cfg.turnstile)}`);
  // Logged-in-only data must not leak to anonymous callers.
  const leaked = Object.keys(POST_LOGIN_KEYS).filter((k) => k !== 'interface' && k in cfg);
  assert.deepEqual(leaked, [], `pre-login config carries logged-in keys: ${leaked.join(', ')}`);
  if ('interface' in cfg) {
    const extra = Object.keys(cfg.interface).filter(
      (k) => !['privacyPolicy', 'termsOfService', 'buildInfo'].includes(k),
    );
    assert.deepEqual(extra, [], `pre-login interface carries logged-in keys: ${extra.join(', ')}`);
  }
  s.anonConfig = cfg;
});

test('logged-out boot: getBanner answers null or a banner', async () => {
  const b = await ds.getBanner();
  const e = lastEntry('GET', '/api/banner');
  assert.equal(e.status, 200);
  assert.ok(
    b === null || b === '' || (isPlainObject(b) && (Object.keys(b).length === 0 || typeof b.message === 'string')),
    `banner: ${JSON.stringify(b)}`,
  );
});

test('protected route without a token: 401 {message: "No auth token"} and no refresh attempt', async () => {
  const before = log.length;
  const r = await settle(ds.getUser());
  assert.equal(r.ok, false, `GET /api/user without a token succeeded: ${JSON.stringify(r.value)}`);
  assert.equal(r.status, 401);
  assert.equal(r.data?.message, 'No auth token', `401 body: ${JSON.stringify(r.data)}`);
  const sent = log.slice(before);
  assert.deepEqual(sent.map((x) => `${x.method} ${x.path}`), ['GET /api/user'], describeLog(sent));
  assert.deepEqual(win.location.navigations, []);
});

// ------------------------------------------------------- register and login

test('register: dataService.register creates the account', async () => {
  const r = await settle(ds.register(alice));
  assert.ok(r.ok, `register failed: ${r.status} ${JSON.stringify(r.data)}`);
  assert.deepEqual(r.value, { message: REGISTER_MESSAGE });
  assert.deepEqual(jar.names(), [], 'register must not log the user in (no cookies)');
  s.registered = true;
});

test('register: a second registration with the same email gives the same answer (transcripts/04)', async () => {
  assert.ok(s.registered, 'registration failed');
  const r = await settle(ds.register({ ...alice, username: `${alice.username}_dup` }));
  assert.ok(r.ok, `duplicate register: ${r.status} ${JSON.stringify(r.data)}`);
  assert.deepEqual(r.value, { message: REGISTER_MESSAGE });
});

test('login with a wrong password: 404 {message: "Incorrect password."} (transcripts/05)', async () => {
  assert.ok(s.registered, 'registration failed');
  const r = await settle(ds.login({ email: alice.email, password: 'Wrong-password-1' }));
  assert.equal(r.ok, false, 'login with a wrong password succeeded');
  assert.equal(r.status, 404);
  assert.equal(r.data?.message, 'Incorrect password.', `404 body: ${JSON.stringify(r.data)}`);
  assert.deepEqual(jar.names(), []);
});

test('login: dataService.login returns {token, user} and sets the refresh cookies', async () => {
  assert.ok(s.registered, 'registration failed');
  const t0 = Date.now();
  const r = await settle(ds.login({ email: alice.email, password: alice.password }));
  assert.ok(r.ok, `login failed: ${r.status} ${JSON.stringify(r.data)}`);
  const { token, user } = r.value;
  assert.equal(typeof token, 'string');
  assert.ok(isPlainObject(user), `login user: ${JSON.stringify(user)}`);

  assert.match(user.id, OBJECT_ID);
  assert.equal(user._id, user.id);
  assert.equal(user.email, alice.email.toLowerCase());
  assert.equal(user.username, alice.username.toLowerCase());
  assert.equal(user.name, alice.name);
  assert.equal(user.provider, 'local');
  assert.ok(['USER', 'ADMIN'].includes(user.role), `role: ${user.role}`);
  assertSanitizedUser(user, 'login');

  // The client reads only `exp` (proactive refresh); SESSION_EXPIRY is the
  // 15-minute default on this runner.
  const p = jwtPayload(token);
  assert.equal(typeof p.exp, 'number');
  assert.equal(p.id, user.id, 'token id claim');
  const lifetime = p.exp * 1000 - t0;
  assert.ok(lifetime > 14 * 60e3 && lifetime <= 15 * 60e3 + 2000, `access token lifetime ${lifetime} ms, want 15 min`);

  const rt = jar.get('refreshToken');
  assert.ok(rt && rt.value, `no refreshToken cookie; cookies: ${jar.names().join(', ')}`);
  assert.equal(rt.attrs.httponly, true, 'refreshToken must be HttpOnly');
  assert.equal(String(rt.attrs.samesite).toLowerCase(), 'strict', 'refreshToken SameSite');
  assert.equal(rt.path, '/');
  assert.equal(rt.attrs.secure, undefined, 'refreshToken must not be Secure over plain http');
  const expires = Date.parse(rt.attrs.expires);
  const maxAge = Number(rt.attrs['max-age']);
  const until = Number.isFinite(expires) ? expires : t0 + maxAge * 1000;
  assert.ok(until - t0 > 6.9 * 864e5 && until - t0 < 7.1 * 864e5, `refresh cookie lifetime ${until - t0} ms, want 7 days`);
  assert.equal(jar.get('token_provider')?.value, 'librechat');

  // What AuthContext does with the login result.
  dp.setTokenHeader(token);
  s.token = token;
  s.user = user;
});

// ------------------------------------------------------- logged-in boot

test('boot: getUser returns the logged-in user (transcripts/07)', async () => {
  needLogin();
  const u = await ds.getUser();
  const e = lastEntry('GET', '/api/user');
  assert.equal(e.authorization, `Bearer ${s.token}`);
  assert.equal(u.id, s.user.id);
  assert.equal(u._id, s.user.id);
  assert.equal(u.email, s.user.email);
  assert.equal(u.username, s.user.username);
  assert.equal(u.name, alice.name);
  assert.equal(u.role, s.user.role);
  assert.equal(u.provider, 'local');
  assert.equal(u.emailVerified, true, 'with email not configured users are verified at registration');
  assert.equal(u.twoFactorEnabled, false);
  assert.ok(u.avatar === null || typeof u.avatar === 'string', `avatar: ${JSON.stringify(u.avatar)}`);
  assert.ok(Array.isArray(u.plugins), 'plugins must be an array');
  assert.match(u.createdAt, ISO_MS);
  assert.match(u.updatedAt, ISO_MS);
  assert.equal(u.refreshToken, undefined, 'GET /api/user must not carry refreshToken');
  assertSanitizedUser(u, 'GET /api/user');
});

test('boot: getStartupConfig with the token has the post-login keys (transcripts/08)', async () => {
  needLogin();
  const cfg = await ds.getStartupConfig();
  const e = lastEntry('GET', '/api/config');
  assert.equal(e.authorization, `Bearer ${s.token}`);
  const missing = PRE_LOGIN_KEYS.filter((k) => !(k in cfg));
  assert.deepEqual(missing, [], `post-login config lacks pre-login keys: ${missing.join(', ')}`);
  for (const [k, type] of Object.entries(POST_LOGIN_KEYS)) {
    assert.ok(k in cfg, `post-login config lacks "${k}"`);
    assert.equal(typeof cfg[k], type, `post-login config: ${k} should be a ${type}, is ${JSON.stringify(cfg[k])}`);
  }
  assert.ok(isPlainObject(cfg.interface), 'interface must be an object');
  assert.ok(['immediate', 'final'].includes(cfg.titleGenerationTiming), `titleGenerationTiming: ${cfg.titleGenerationTiming}`);
  assert.equal(typeof cfg.balance.enabled, 'boolean', `balance: ${JSON.stringify(cfg.balance)}`);
  for (const [k, v] of Object.entries(DEFAULT_LOGIN_FLAGS)) {
    assert.equal(cfg[k], v, `post-login config: ${k}`);
  }
  assert.equal(cfg.serverDomain, BASE_URL);
  // Accounts cannot be deleted yet, so the button must stay hidden.
  assert.equal(cfg.allowAccountDeletion, false, 'allowAccountDeletion must be false while DELETE /api/user/delete is not served');
  s.config = cfg;
});

test('boot: getRole("USER") returns the permissions object (transcripts/12)', async () => {
  needLogin();
  const role = await ds.getRole('USER');
  assert.equal(role.name, 'USER');
  assert.match(String(role._id), OBJECT_ID);
  assert.ok(isPlainObject(role.permissions), `permissions: ${JSON.stringify(role.permissions)}`);
  for (const [type, perms] of Object.entries(ROLE_PERMISSION_SHAPE)) {
    const got = role.permissions[type];
    assert.ok(isPlainObject(got), `permissions.${type} missing: ${JSON.stringify(got)}`);
    assert.deepEqual(Object.keys(got).sort(), [...perms].sort(), `permissions.${type} keys`);
    for (const p of perms) {
      assert.equal(typeof got[p], 'boolean', `permissions.${type}.${p} must be a boolean`);
    }
  }
  s.role = role;
});

test("boot: getRole(user.role) succeeds for the user's own role", async (t) => {
  needLogin();
  if (s.user.role === 'USER') {
    t.skip('user role is USER (checked above)');
    return;
  }
  const role = await ds.getRole(s.user.role);
  assert.equal(role.name, s.user.role);
  assert.ok(isPlainObject(role.permissions));
  for (const type of Object.keys(ROLE_PERMISSION_SHAPE)) {
    assert.ok(isPlainObject(role.permissions[type]), `${s.user.role} permissions.${type} missing`);
  }
});

test('boot: getAIEndpoints returns at least one endpoint', async () => {
  needLogin();
  const eps = await ds.getAIEndpoints();
  assert.ok(isPlainObject(eps), `endpoints: ${JSON.stringify(eps)}`);
  const enabled = Object.entries(eps).filter(([, v]) => v);
  assert.ok(enabled.length >= 1, `no endpoint offered: ${JSON.stringify(eps)}`);
  for (const [name, cfg] of enabled) {
    assert.ok(isPlainObject(cfg), `endpoint ${name}: ${JSON.stringify(cfg)}`);
    assert.equal(typeof cfg.order, 'number', `endpoint ${name}: order`);
    if ('userProvide' in cfg) assert.equal(typeof cfg.userProvide, 'boolean', `endpoint ${name}: userProvide`);
    if ('type' in cfg) assert.equal(cfg.type, 'custom', `endpoint ${name}: type`);
  }
  const expected = process.env.CONTRACT_OPENAI_MODELS;
  if (expected) {
    // run.sh configures OPENAI_API_KEY=user_provided.
    assert.ok(isPlainObject(eps.openAI), `openAI endpoint missing: ${JSON.stringify(eps)}`);
    assert.equal(eps.openAI.userProvide, true);
  }
  s.endpoints = eps;
});

test('boot: getModels has a model list for every endpoint', async () => {
  needLogin();
  assert.ok(s.endpoints, 'getAIEndpoints failed');
  const models = await ds.getModels();
  assert.ok(isPlainObject(models), `models: ${JSON.stringify(models)}`);
  for (const [name, cfg] of Object.entries(s.endpoints)) {
    if (!cfg) continue;
    const list = models[name];
    if (name === 'agents' || name === 'assistants' || name === 'azureAssistants') {
      if (list !== undefined) assert.ok(Array.isArray(list), `models.${name} must be an array`);
      continue;
    }
    assert.ok(Array.isArray(list), `models.${name} missing: ${JSON.stringify(models)}`);
    assert.ok(list.length >= 1, `models.${name} is empty (the first model is the default)`);
    for (const m of list) assert.equal(typeof m, 'string', `models.${name} entry ${JSON.stringify(m)}`);
  }
  const expected = process.env.CONTRACT_OPENAI_MODELS;
  if (expected) {
    assert.deepEqual(models.openAI, expected.split(','), 'models.openAI must be OPENAI_MODELS in order');
  }
});

// Calls Root and the sidebar make unconditionally once authenticated; with
// the feature off the server still answers with the empty shape.

test('boot: listAgents({requiredPermission: 1}) returns an empty list object', async () => {
  needLogin();
  const r = await ds.listAgents({ requiredPermission: 1 });
  assert.equal(lastEntry('GET', '/api/agents').path, '/api/agents?requiredPermission=1');
  assert.equal(r.object, 'list');
  assert.deepEqual(r.data, []);
  assert.equal(r.has_more, false);
});

test('boot: getFiles returns []', async () => {
  needLogin();
  assert.deepEqual(await ds.getFiles(), []);
});

test('boot: getFavorites returns []', async () => {
  needLogin();
  assert.deepEqual(await ds.getFavorites(), []);
});

test('boot: getSearchEnabled returns a JSON boolean', async () => {
  needLogin();
  const v = await ds.getSearchEnabled();
  assert.equal(typeof v, 'boolean', `search/enable: ${JSON.stringify(v)}`);
});

test('boot: getActiveJobs returns {activeJobIds: []}', async () => {
  needLogin();
  assert.deepEqual(await ds.getActiveJobs(), { activeJobIds: [] });
});

test('boot: getPresets returns []', async () => {
  needLogin();
  assert.deepEqual(await ds.getPresets(), []);
});

test('boot: getBanner with the token answers null or a banner', async () => {
  needLogin();
  const b = await ds.getBanner();
  assert.equal(lastEntry('GET', '/api/banner').status, 200);
  assert.ok(
    b === null || b === '' || (isPlainObject(b) && (Object.keys(b).length === 0 || typeof b.message === 'string')),
    `banner: ${JSON.stringify(b)}`,
  );
});

test('boot: healthCheck returns OK', async () => {
  assert.equal(await ds.healthCheck(), 'OK');
});

test('boot: listConversations returns an empty page', async () => {
  needLogin();
  const r = await ds.listConversations({ isArchived: false, sortBy: 'updatedAt', sortDirection: 'desc' });
  assert.deepEqual(r, { conversations: [], nextCursor: null });
});

test('boot: getFileConfig returns an object', async () => {
  needLogin();
  const r = await ds.getFileConfig();
  assert.ok(isPlainObject(r), `files/config: ${JSON.stringify(r)}`);
});

// Calls the client makes only when the role or config enables a feature: a
// feature the server advertises must answer.

test('conditional boot calls follow what role and config advertise', async (t) => {
  needLogin();
  assert.ok(s.role && s.config && s.endpoints, 'role, config or endpoints failed');
  const perms = s.role.permissions;

  await t.test('PROMPTS.USE → getAllPromptGroups returns an array', { skip: perms.PROMPTS?.USE !== true && 'PROMPTS.USE is off' }, async () => {
    const r = await ds.getAllPromptGroups();
    assert.ok(Array.isArray(r), `prompts/all: ${JSON.stringify(r)}`);
  });

  await t.test('MCP_SERVERS.USE → getMCPServers returns an object', { skip: perms.MCP_SERVERS?.USE !== true && 'MCP_SERVERS.USE is off' }, async () => {
    const r = await ds.getMCPServers();
    assert.ok(isPlainObject(r), `mcp/servers: ${JSON.stringify(r)}`);
    if (Object.keys(r).length > 0) {
      const tools = await ds.getMCPTools();
      assert.ok(isPlainObject(tools?.servers), `mcp/tools: ${JSON.stringify(tools)}`);
    }
  });

  await t.test('balance.enabled → getUserBalance returns tokenCredits', { skip: s.config.balance?.enabled !== true && 'balance is off' }, async () => {
    const r = await ds.getUserBalance();
    assert.equal(typeof r.tokenCredits, 'number', `balance: ${JSON.stringify(r)}`);
  });

  await t.test('termsOfService.modalAcceptance → getUserTerms returns termsAccepted', { skip: s.config.interface?.termsOfService?.modalAcceptance !== true && 'terms modal is off' }, async () => {
    const r = await ds.getUserTerms();
    assert.equal(typeof r.termsAccepted, 'boolean', `terms: ${JSON.stringify(r)}`);
  });

  await t.test('interface.contextUsage → getTokenConfig returns an object', { skip: s.config.interface?.contextUsage !== true && 'contextUsage is off' }, async () => {
    const r = await ds.getTokenConfig();
    assert.ok(isPlainObject(r), `endpoints/token-config: ${JSON.stringify(r)}`);
  });

  const userProvided = Object.entries(s.endpoints).filter(([, v]) => v && v.userProvide === true).map(([k]) => k);
  await t.test('userProvide endpoints → userKeyQuery answers "no key" for a new user', { skip: userProvided.length === 0 && 'no userProvide endpoint' }, async () => {
    for (const name of userProvided) {
      const r = await ds.userKeyQuery(name);
      assert.ok(isPlainObject(r), `keys?name=${name}: ${JSON.stringify(r)}`);
      assert.ok(r.expiresAt === undefined || r.expiresAt === null, `keys?name=${name}: a new user has no key, got ${JSON.stringify(r)}`);
    }
  });

  await t.test('no assistants endpoints (their routes are not served)', async () => {
    assert.equal(s.endpoints.assistants ?? undefined, undefined);
    assert.equal(s.endpoints.azureAssistants ?? undefined, undefined);
  });
});

// ------------------------------------------------------- reload and logout

test('reload: refreshToken with the cookie returns {token, user} (transcripts/21)', async () => {
  needLogin();
  const cookieBefore = jar.get('refreshToken').value;
  const r = await settle(dp.request.refreshToken());
  const e = lastEntry('POST', '/api/auth/refresh');
  assert.ok(e.cookie?.includes(`refreshToken=${cookieBefore}`), `refresh did not send the cookie: ${e.cookie}`);
  assert.ok(r.ok, `refresh with cookie: ${r.status} ${JSON.stringify(r.data)}`);
  assert.equal(typeof r.value?.token, 'string', `refresh returned no token: ${JSON.stringify(r.value)}`);
  assert.equal(r.value.user?._id, s.user.id);
  assert.equal(r.value.user.email, s.user.email);
  assertSanitizedUser(r.value.user, 'refresh');
  const p = jwtPayload(r.value.token);
  assert.ok(p.exp * 1000 > Date.now() + 14 * 60e3, 'refreshed token lifetime');
  assert.ok(jar.get('refreshToken')?.value, 'refresh dropped the refreshToken cookie');

  // AuthContext stores the new token; the session keeps working with it.
  dp.setTokenHeader(r.value.token);
  s.token = r.value.token;
  const u = await ds.getUser();
  assert.equal(u.id, s.user.id);
  assert.equal(lastEntry('GET', '/api/user').authorization, `Bearer ${s.token}`);
});

test('logout: dataService.logout ends the session; refresh yields no token and getUser is 401', async () => {
  needLogin();
  const oldCookie = jar.get('refreshToken')?.value;
  assert.ok(oldCookie, 'no refresh cookie before logout');

  const out = await settle(ds.logout());
  const e = lastEntry('POST', '/api/auth/logout');
  assert.equal(e.authorization, `Bearer ${s.token}`);
  assert.ok(e.cookie?.includes('refreshToken='), 'logout did not send the cookie');
  assert.ok(out.ok, `logout: ${out.status} ${JSON.stringify(out.data)}`);
  assert.deepEqual(out.value, { message: 'Logout successful' });
  assert.equal(jar.get('refreshToken'), undefined, 'logout must clear the refreshToken cookie');
  assert.equal(jar.get('token_provider'), undefined, 'logout must clear the token_provider cookie');

  // What the client does after logout: drop the token from the header.
  dp.setTokenHeader(undefined);

  // Next boot: no cookie → no token.
  const r1 = await settle(dp.request.refreshToken());
  assert.ok(r1.ok, `refresh after logout: ${r1.status}`);
  assert.equal(r1.value?.token, undefined, `refresh after logout returned a token: ${JSON.stringify(r1.value)}`);

  // The old refresh cookie (e.g. a copy kept elsewhere) must not revive the session.
  jar.set('refreshToken', oldCookie);
  const r2 = await settle(dp.request.refreshToken());
  const e2 = lastEntry('POST', '/api/auth/refresh');
  assert.ok(e2.cookie?.includes(`refreshToken=${oldCookie}`));
  if (r2.ok) {
    assert.equal(r2.value?.token, undefined, `the logged-out refresh cookie still yields a token: ${JSON.stringify(r2.value).slice(0, 200)}`);
  } else {
    assert.ok([401, 403].includes(r2.status), `refresh with a logged-out cookie: ${r2.status} ${JSON.stringify(r2.data)}`);
  }
  jar.delete('refreshToken');

  const before = log.length;
  const r3 = await settle(ds.getUser());
  assert.equal(r3.ok, false, 'getUser after logout succeeded');
  assert.equal(r3.status, 401);
  const sent = log.slice(before);
  assert.deepEqual(sent.map((x) => `${x.method} ${x.path}`), ['GET /api/user'], `no refresh attempt expected after logout:\n${describeLog(sent)}`);
  assert.deepEqual(win.location.navigations, [], 'the package redirected to login');
});
