// Files through the package's dataService, against the chat runner: the
// file config the client validates uploads with, a real PNG uploaded as the
// chat input's attach button does (uploadImage with the FormData of the
// client's useFileHandling), a text file (uploadFile), the file list, the
// image URL the chat shows as <img src>, downloads, a disguised executable
// refused, the profile picture (uploadAvatar), delete, and what a second
// user can see, fetch and delete of the first user's files. Steps share
// state and run in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { OBJECT_ID, loadClient, requireBaseURL, settle } from './harness.mjs';
import { ISO_MS, UUID, chatClient, endpointOptionFor, lastRequest } from './chatflow.mjs';

const BASE_URL = requireBaseURL('CHAT_BASE_URL');
const { dp, log } = await loadClient(BASE_URL);
const ds = dp.dataService;

const s = {};
let chat = chatClient({ dp, baseURL: BASE_URL });

function need(...keys) {
  for (const k of keys) assert.ok(s[k], `an earlier step failed: this step needs "${k}"`);
}

// ---------------------------------------------------------------- test files

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** A valid width×height 8-bit RGB PNG, each row a shade of its own. */
function png(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const rows = [];
  for (let y = 0; y < height; y++) rows.push(Buffer.from([0]), Buffer.alloc(width * 3, 40 + y * 60));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const PNG = png(2, 3);
const AVATAR = png(4, 4);
const TEXT = 'Shopping list\n- lanterns\n- rope\n';
/** The start of a 64-bit Linux executable, padded. */
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), Buffer.alloc(248)]);

// ---------------------------------------------------------------- the client's requests

/**
 * The FormData of the client's useFileHandling.startUpload for a chat
 * attachment: endpoint, endpointType, the file under its URI-encoded name,
 * the client's file_id, width and height for images, message_file.
 */
function uploadForm({ bytes, name, type, width, height, fileId = crypto.randomUUID() }) {
  const form = new FormData();
  form.append('endpoint', chat.endpointOption.endpoint);
  form.append('endpointType', chat.endpointOption.endpointType ?? '');
  form.append('file', new Blob([bytes], { type }), encodeURIComponent(name));
  form.append('file_id', fileId);
  if (width) form.append('width', String(width));
  if (height) form.append('height', String(height));
  form.append('message_file', 'true');
  return { form, fileId };
}

/** useUploadFileMutation: the images route when the form has width and height. */
function upload(form) {
  const width = form.get('width') ?? '';
  const height = form.get('height') ?? '';
  return width !== '' && height !== '' ? ds.uploadImage(form) : ds.uploadFile(form);
}

/** The entry the client sends to delete a file (DELETE /api/files). */
const batchFile = (f) => ({ file_id: f.file_id, filepath: f.filepath, embedded: f.embedded, source: f.source });

/** GET of a file URL as the browser's <img src> or link sends it: no token. */
async function fetchURL(url) {
  const res = await fetch(new URL(url, BASE_URL));
  return { status: res.status, type: res.headers.get('content-type') ?? '', bytes: Buffer.from(await res.arrayBuffer()) };
}

/** getFileDownload's answer body as bytes (the harness hands the package a Blob, as XHR does). */
const blobBytes = async (data) => Buffer.from(await data.arrayBuffer());

const fileIds = (list) => list.map((f) => f.file_id).sort();
/** A file list without the signatures of its URLs, which are renewed on every answer. */
const unsigned = (list) => list.map((f) => ({ ...f, filepath: f.filepath.split('?')[0] }));

function checkRecord(f, { user, name, type, bytes, where }) {
  assert.match(f.file_id, UUID, `${where}: file_id`);
  assert.equal(f.user, user.user.id, `${where}: user`);
  assert.equal(f.filename, name, `${where}: filename (the client sends it URI-encoded)`);
  assert.equal(f.type, type, `${where}: type`);
  assert.equal(f.bytes, bytes, `${where}: bytes`);
  assert.equal(f.object, 'file', `${where}: object`);
  assert.equal(f.embedded, false, `${where}: embedded`);
  assert.equal(typeof f.source, 'string', `${where}: source`);
  assert.equal(typeof f.usage, 'number', `${where}: usage`);
  assert.equal(typeof f.filepath, 'string', `${where}: filepath`);
  assert.ok(f.filepath.length > 0, `${where}: filepath`);
  if (f._id !== undefined) assert.match(f._id, OBJECT_ID, `${where}: _id`);
  assert.match(f.createdAt, ISO_MS, `${where}: createdAt`);
  assert.match(f.updatedAt, ISO_MS, `${where}: updatedAt`);
}

// ---------------------------------------------------------------- setup

test('setup: kim and lee have no files; the file config allows a PNG and a text file on the endpoint', async () => {
  s.kim = await chat.signUp('files_k');
  s.lee = await chat.signUp('files_l');
  chat.as(s.kim);
  chat = chatClient({ dp, baseURL: BASE_URL, endpointOption: await endpointOptionFor(dp) });
  for (const who of [s.kim, s.lee]) {
    chat.as(who);
    assert.deepEqual(await ds.getFiles(), [], 'transcripts/14');
  }
  chat.as(s.kim);
  const raw = await ds.getFileConfig();
  assert.equal(lastRequest(log, 'GET', '/api/files/config').status, 200);
  assert.ok(raw !== null && typeof raw === 'object' && !Array.isArray(raw), `file config: ${JSON.stringify(raw)}`);
  // What the client does with it before every upload (useFileHandling, validateFiles).
  const merged = dp.mergeFileConfig(raw);
  const { endpoint, endpointType } = chat.endpointOption;
  const limits = dp.getEndpointFileConfig({ endpoint, endpointType, fileConfig: merged });
  assert.ok(!limits.disabled, `uploads are disabled for ${endpoint}: ${JSON.stringify(raw)}`);
  for (const [type, size] of [['image/png', PNG.length], ['text/plain', TEXT.length]]) {
    assert.ok(limits.supportedMimeTypes.some((re) => re.test(type)), `${type} is not a supported type for ${endpoint}`);
    assert.ok(size <= limits.fileSizeLimit, `${type} of ${size} bytes is over the limit`);
  }
  assert.ok(limits.fileLimit >= 2, `fileLimit ${limits.fileLimit}`);
  assert.ok(AVATAR.length <= merged.avatarSizeLimit, 'the avatar is over avatarSizeLimit');
  s.ready = true;
});

// ---------------------------------------------------------------- upload

test('uploadImage: a real PNG with width and height goes to /api/files/images and comes back as a file record', async () => {
  need('ready');
  chat.as(s.kim);
  const { form, fileId } = uploadForm({ bytes: PNG, name: 'tiny pixel.png', type: 'image/png', width: 2, height: 3 });
  const f = await upload(form);
  const e = lastRequest(log, 'POST', '/api/files');
  assert.equal(e.path, '/api/files/images');
  assert.equal(e.status, 200);
  checkRecord(f, { user: s.kim, name: 'tiny pixel.png', type: 'image/png', bytes: PNG.length, where: 'image upload' });
  assert.equal(f.temp_file_id, fileId, 'temp_file_id is the file_id the client sent (it finds its preview by it)');
  assert.equal(f.width, 2);
  assert.equal(f.height, 3);
  // The chat shows the attachment with <img src={filepath}>.
  const img = await fetchURL(f.filepath);
  assert.equal(img.status, 200, `GET ${f.filepath} without a token: ${img.status}`);
  assert.match(img.type, /^image\/png/);
  assert.ok(img.bytes.equals(PNG), 'the image URL serves other bytes');
  s.png = f;
});

test('uploadFile: a text file without width and height goes to /api/files', async () => {
  need('ready');
  chat.as(s.kim);
  const { form, fileId } = uploadForm({ bytes: Buffer.from(TEXT), name: 'list.txt', type: 'text/plain' });
  const f = await upload(form);
  const e = lastRequest(log, 'POST', '/api/files');
  assert.equal(e.path, '/api/files');
  assert.equal(e.status, 200);
  checkRecord(f, { user: s.kim, name: 'list.txt', type: 'text/plain', bytes: Buffer.byteLength(TEXT), where: 'file upload' });
  assert.equal(f.temp_file_id, fileId);
  assert.equal(f.width, undefined);
  assert.equal(f.height, undefined);
  s.txt = f;
});

test('a disguised upload: an executable named .png is refused with 4xx {message} on both routes, nothing kept', async () => {
  need('png', 'txt');
  chat.as(s.kim);
  const before = fileIds(await ds.getFiles());
  for (const dims of [{ width: 1, height: 1 }, {}]) {
    const { form } = uploadForm({ bytes: ELF, name: 'cat.png', type: 'image/png', ...dims });
    const r = await settle(upload(form));
    const route = dims.width ? '/api/files/images' : '/api/files';
    assert.equal(lastRequest(log, 'POST', '/api/files').path, route);
    assert.equal(r.ok, false, `${route} accepted an executable named cat.png: ${JSON.stringify(r.value)}`);
    assert.ok(r.status >= 400 && r.status < 500, `${route}: ${r.status} ${JSON.stringify(r.data)}`);
    // The client shows response.data.message in its error toast.
    assert.equal(typeof r.data?.message, 'string', `${route}: error body ${JSON.stringify(r.data)}`);
    assert.ok(r.data.message.length > 0);
  }
  assert.deepEqual(fileIds(await ds.getFiles()), before, 'a refused upload was kept');
});

// ---------------------------------------------------------------- list and download

test('getFiles: both files with the keys the client uses; no extracted text', async () => {
  need('png', 'txt');
  chat.as(s.kim);
  const list = await ds.getFiles();
  assert.equal(lastRequest(log, 'GET', '/api/files').path, '/api/files');
  assert.deepEqual(fileIds(list), [s.png.file_id, s.txt.file_id].sort());
  const png = list.find((f) => f.file_id === s.png.file_id);
  const txt = list.find((f) => f.file_id === s.txt.file_id);
  checkRecord(png, { user: s.kim, name: 'tiny pixel.png', type: 'image/png', bytes: PNG.length, where: 'listed image' });
  checkRecord(txt, { user: s.kim, name: 'list.txt', type: 'text/plain', bytes: Buffer.byteLength(TEXT), where: 'listed text file' });
  assert.equal(png.width, 2);
  assert.equal(png.height, 3);
  assert.equal(png.temp_file_id, s.png.temp_file_id);
  assert.equal(txt.text, undefined, 'the list carries the extracted text');
  const img = await fetchURL(png.filepath);
  assert.equal(img.status, 200);
  assert.ok(img.bytes.equals(PNG));
  // The attachment preview polls until the status is final.
  const preview = await ds.getFilePreview(s.txt.file_id);
  assert.equal(lastRequest(log, 'GET', '/api/files/').path, `/api/files/${s.txt.file_id}/preview`);
  assert.equal(preview.file_id, s.txt.file_id);
  assert.equal(preview.status, 'ready', `preview: ${JSON.stringify(preview)}`);
  if (preview.text !== undefined) assert.equal(preview.text, TEXT);
  assert.notEqual(preview.textFormat, 'html', 'a plain text file previewed as HTML');
});

test('getFileDownload: the bytes as a blob, sent as an attachment with the file name', async () => {
  need('png', 'txt');
  chat.as(s.kim);
  for (const [f, bytes] of [[s.png, PNG], [s.txt, Buffer.from(TEXT)]]) {
    const res = await ds.getFileDownload(s.kim.user.id, f.file_id);
    const e = lastRequest(log, 'GET', '/api/files/download/');
    assert.equal(e.path, `/api/files/download/${s.kim.user.id}/${f.file_id}`);
    assert.equal(res.status, 200);
    assert.ok(res.data instanceof Blob);
    assert.ok((await blobBytes(res.data)).equals(bytes), `download of ${f.filename}: other bytes`);
    const cd = res.headers['content-disposition'] ?? '';
    assert.match(cd, /^attachment/, `Content-Disposition: ${cd}`);
    assert.ok(cd.includes(f.filename) || cd.includes(encodeURIComponent(f.filename)), `Content-Disposition without the name: ${cd}`);
  }
  const url = await ds.getFileDownloadURL(s.kim.user.id, s.txt.file_id);
  assert.equal(url.filename, 'list.txt');
  assert.equal(url.type, 'text/plain');
  assert.equal(url.metadata?.file_id, s.txt.file_id);
  const got = await fetchURL(url.url);
  assert.equal(got.status, 200, `GET ${url.url}: ${got.status}`);
  assert.ok(got.bytes.equals(Buffer.from(TEXT)));
});

// ---------------------------------------------------------------- avatar

test('uploadAvatar: {url}; the user record points at it, the URL serves it, the file list does not show it', async () => {
  need('ready');
  chat.as(s.kim);
  const form = new FormData();
  form.append('file', new Blob([AVATAR], { type: 'image/png' }), 'me.png');
  form.append('manual', 'true');
  const r = await ds.uploadAvatar(form);
  const e = lastRequest(log, 'POST', '/api/files/images/avatar');
  assert.equal(e.path, '/api/files/images/avatar');
  assert.equal(e.status, 200);
  assert.deepEqual(Object.keys(r), ['url']);
  assert.equal(typeof r.url, 'string');
  assert.equal((await ds.getUser()).avatar, r.url);
  const img = await fetchURL(r.url);
  assert.equal(img.status, 200, `GET ${r.url}: ${img.status}`);
  assert.match(img.type, /^image\/png/);
  assert.ok(img.bytes.equals(AVATAR));
  assert.ok(!(await ds.getFiles()).some((f) => f.bytes === AVATAR.length && f.type === 'image/png'), 'the avatar is listed as a file');

  const bad = new FormData();
  bad.append('file', new Blob([ELF], { type: 'image/png' }), 'me.png');
  bad.append('manual', 'true');
  const refused = await settle(ds.uploadAvatar(bad));
  assert.ok(!refused.ok && refused.status >= 400 && refused.status < 500, `executable avatar: ${refused.status} ${JSON.stringify(refused.value ?? refused.data)}`);
  assert.equal(typeof refused.data?.message, 'string');
  assert.equal((await ds.getUser()).avatar, r.url, 'a refused avatar replaced the picture');
  s.avatar = r.url;
});

// ---------------------------------------------------------------- another user

test("cross-user: lee sees, downloads and deletes none of kim's files", async () => {
  need('png', 'txt');
  chat.as(s.kim);
  const before = await ds.getFiles();

  chat.as(s.lee);
  try {
    assert.deepEqual(await ds.getFiles(), []);
    for (const f of [s.png, s.txt]) {
      for (const owner of [s.kim.user.id, s.lee.user.id]) {
        const dl = await settle(ds.getFileDownload(owner, f.file_id));
        assert.equal(dl.ok, false, `lee downloaded kim's ${f.filename} via /${owner === s.kim.user.id ? 'kim' : 'lee'}/`);
        assert.equal(dl.status, 404, `lee's download: ${dl.status}`);
        const url = await settle(ds.getFileDownloadURL(owner, f.file_id));
        assert.equal(url.ok, false, `lee got a download URL for kim's ${f.filename}: ${JSON.stringify(url.value)}`);
        assert.equal(url.status, 404, `lee's download-url: ${url.status}`);
      }
      const preview = await settle(ds.getFilePreview(f.file_id));
      assert.equal(preview.ok, false, `lee previewed kim's ${f.filename}: ${JSON.stringify(preview.value)}`);
      assert.equal(preview.status, 404, `lee's preview: ${preview.status}`);
    }
    // The bytes' path with lee's token but without kim's signature is refused.
    const path = s.png.filepath.split('?')[0];
    const res = await fetch(new URL(path, BASE_URL), { headers: { Authorization: `Bearer ${s.lee.token}` } });
    assert.ok(res.status >= 400 && res.status < 500, `GET ${path} with lee's token: ${res.status}`);
    // A signature made for kim's file does not open another path.
    const [, query] = s.png.filepath.split('?');
    const forged = await fetch(new URL(`${path.replace(s.kim.user.id, s.lee.user.id)}?${query}`, BASE_URL));
    assert.ok(forged.status >= 400 && forged.status < 500, `kim's signature on lee's path: ${forged.status}`);

    // Deleting kim's files deletes nothing of hers.
    const del = await settle(ds.deleteFiles({ files: [batchFile(s.png), batchFile(s.txt)] }));
    if (!del.ok) assert.ok(del.status === 403 || del.status === 404, `lee's delete: ${del.status} ${JSON.stringify(del.data)}`);

    // Lee's own upload is his alone, and deleting it with kim's ids in the body deletes only his.
    const { form } = uploadForm({ bytes: PNG, name: 'mine.png', type: 'image/png', width: 2, height: 3 });
    const mine = await upload(form);
    checkRecord(mine, { user: s.lee, name: 'mine.png', type: 'image/png', bytes: PNG.length, where: "lee's upload" });
    assert.notEqual(mine.file_id, s.png.file_id);
    assert.deepEqual(fileIds(await ds.getFiles()), [mine.file_id]);
    const both = await settle(ds.deleteFiles({ files: [batchFile(mine), batchFile(s.png)] }));
    if (both.ok) assert.deepEqual(await ds.getFiles(), []);
    else assert.ok(both.status === 403 || both.status === 404, `lee's mixed delete: ${both.status} ${JSON.stringify(both.data)}`);
  } finally {
    chat.as(s.kim);
  }
  assert.deepEqual(unsigned(await ds.getFiles()), unsigned(before), "kim's files changed");
  for (const [f, bytes] of [[s.png, PNG], [s.txt, Buffer.from(TEXT)]]) {
    const res = await ds.getFileDownload(s.kim.user.id, f.file_id);
    assert.ok((await blobBytes(res.data)).equals(bytes), `kim's ${f.filename} changed`);
  }
  if (s.avatar) assert.equal((await ds.getUser()).avatar, s.avatar);
});

// ---------------------------------------------------------------- delete

test('deleteFiles: the JSON body removes the file; the list, the download and the image URL forget it', async () => {
  need('png', 'txt');
  chat.as(s.kim);
  const r = await ds.deleteFiles({ files: [batchFile(s.png)] });
  const e = lastRequest(log, 'DELETE', '/api/files');
  assert.equal(e.path, '/api/files');
  assert.equal(e.status, 200);
  assert.equal(r.message, 'Files deleted successfully');
  assert.deepEqual(fileIds(await ds.getFiles()), [s.txt.file_id]);
  const dl = await settle(ds.getFileDownload(s.kim.user.id, s.png.file_id));
  assert.equal(dl.status, 404, `download of a deleted file: ${dl.status}`);
  const img = await fetchURL(s.png.filepath);
  assert.ok(img.status >= 400 && img.status < 500, `image URL of a deleted file: ${img.status}`);

  const nothing = await settle(ds.deleteFiles({ files: [] }));
  assert.ok(nothing.ok, `an empty delete: ${nothing.status} ${JSON.stringify(nothing.data)}`);
  assert.equal(lastRequest(log, 'DELETE', '/api/files').status, 204, 'nothing to delete answers 204');

  await ds.deleteFiles({ files: [batchFile(s.txt)] });
  assert.deepEqual(await ds.getFiles(), []);
  if (s.avatar) {
    const img2 = await fetchURL(s.avatar);
    assert.equal(img2.status, 200, 'deleting files removed the avatar');
  }
});
