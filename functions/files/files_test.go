package files_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	filesfn "github.com/lcgo/lcgo/functions/files"
	"github.com/lcgo/lcgo/shared/chat"
	sfiles "github.com/lcgo/lcgo/shared/files"
)

// The Attachments hook of the chat service is the shared pipeline.
var _ chat.Attachments = (*sfiles.Service)(nil)

// tfileKeys are the keys of LibreChat's TFile (packages/data-provider
// types/files.ts and the file schema) plus the upload answer's message.
var tfileKeys = []string{
	"message", "_id", "__v", "user", "conversationId", "message", "file_id", "temp_file_id", "bytes",
	"embedded", "filename", "filepath", "object", "type", "usage", "context", "source", "model",
	"width", "height", "expiresAt", "preview", "metadata", "text", "textFormat", "status",
	"createdAt", "updatedAt",
}

var isoTime = regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$`)

func TestUploadImageAnswer(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("Alice")
	img := pngBytes(t, 3, 2)
	r := e.uploadImage(tok, "cat%20photo.png", img)
	if r.status != http.StatusOK {
		t.Fatalf("upload: %s", r)
	}
	ms := members(t, r.body)
	// Node answers {message, ...doc}; the document of an upsert by file_id
	// starts _id, file_id, __v and continues in lexicographic order.
	want := []string{"message", "_id", "file_id", "__v", "bytes", "context", "createdAt", "embedded",
		"filename", "filepath", "height", "object", "source", "temp_file_id", "type", "updatedAt", "usage", "user", "width"}
	if got := keysOf(ms); !slices.Equal(got, want) {
		t.Errorf("keys\n got %v\nwant %v", got, want)
	}
	for _, k := range keysOf(ms) {
		if !slices.Contains(tfileKeys, k) {
			t.Errorf("key %q is not a TFile key", k)
		}
	}
	var f struct {
		Message    string `json:"message"`
		ID         string `json:"_id"`
		FileID     string `json:"file_id"`
		V          int    `json:"__v"`
		Bytes      int    `json:"bytes"`
		Context    string `json:"context"`
		Embedded   bool   `json:"embedded"`
		Filename   string `json:"filename"`
		Filepath   string `json:"filepath"`
		Height     int    `json:"height"`
		Object     string `json:"object"`
		Source     string `json:"source"`
		TempFileID string `json:"temp_file_id"`
		Type       string `json:"type"`
		Usage      int    `json:"usage"`
		User       string `json:"user"`
		Width      int    `json:"width"`
	}
	if err := json.Unmarshal(r.body, &f); err != nil {
		t.Fatal(err)
	}
	if f.Message != "File uploaded and processed successfully" || len(f.ID) != 24 || !sfiles.IsUUID(f.FileID) ||
		f.FileID == clientFileID || f.TempFileID != clientFileID || f.Bytes != len(img) ||
		f.Context != "message_attachment" || f.Embedded || f.Filename != "cat photo.png" || f.Object != "file" ||
		f.Source != "local" || f.Type != "image/png" || f.Usage != 0 || f.User != alice.ID || f.Width != 3 || f.Height != 2 {
		t.Errorf("answer: %s", r.body)
	}
	for _, m := range ms {
		if (m.key == "createdAt" || m.key == "updatedAt") && !isoTime.Match(m.raw) {
			t.Errorf("%s = %s", m.key, m.raw)
		}
	}
	if !strings.HasPrefix(f.Filepath, "/api/files/images/"+alice.ID+"/"+f.FileID+"?exp=") || strings.Contains(string(r.body), `\u0026`) {
		t.Errorf("filepath %s", f.Filepath)
	}
	// The browser loads it without a token.
	got := e.fetch(f.Filepath, "")
	if got.status != http.StatusOK || !bytes.Equal(got.body, img) || got.header.Get("Content-Type") != "image/png" ||
		got.header.Get("X-Content-Type-Options") != "nosniff" || got.header.Get("Content-Disposition") != "" {
		t.Errorf("image fetch: %d %v", got.status, got.header)
	}
}

func TestUploadDocumentAndList(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("Alice")
	_, bobTok := e.newUser("Bob")
	r := e.uploadFile(tok, "notes.md", []byte("# Notes\nremember the milk\n"))
	if r.status != http.StatusOK {
		t.Fatalf("upload: %s", r)
	}
	doc := r.object(t)
	if doc["type"] != "text/markdown" || doc["width"] != nil || doc["text"] != nil {
		t.Errorf("document answer: %s", r.body)
	}
	fp := doc["filepath"].(string)
	if !strings.HasPrefix(fp, "/api/files/uploads/"+alice.ID+"/") {
		t.Errorf("filepath %s", fp)
	}
	got := e.fetch(fp, "")
	if got.status != 200 || got.header.Get("Content-Type") != "application/octet-stream" ||
		got.header.Get("Content-Disposition") != `attachment; filename="notes.md"` || string(got.body) != "# Notes\nremember the milk\n" {
		t.Errorf("document fetch: %d %v %q", got.status, got.header, got.body)
	}
	e.clock.Advance(time.Second)
	img := e.uploadImage(tok, "a.png", pngBytes(t, 1, 1)).object(t)

	list := e.do("GET", "/api/files", tok, "")
	var files []map[string]any
	if err := json.Unmarshal(list.body, &files); err != nil || list.status != 200 || len(files) != 2 {
		t.Fatalf("list: %s", list)
	}
	if files[0]["file_id"] != img["file_id"] || files[1]["file_id"] != doc["file_id"] {
		t.Errorf("not newest first: %s", list.body)
	}
	for _, f := range files {
		if _, ok := f["message"]; ok {
			t.Error("list entries carry message")
		}
		if _, ok := f["text"]; ok {
			t.Error("list entries carry text")
		}
	}
	first := members(t, mustRaw(t, list.body, 0))
	if keysOf(first)[0] != "_id" || keysOf(first)[1] != "file_id" {
		t.Errorf("list entry keys %v", keysOf(first))
	}
	// Bob's list is his own.
	if b := e.do("GET", "/api/files", bobTok, ""); b.status != 200 || string(b.body) != "[]" {
		t.Errorf("bob's list: %s", b)
	}
}

func mustRaw(t *testing.T, arr []byte, i int) []byte {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(arr, &items); err != nil || len(items) <= i {
		t.Fatalf("array: %s", arr)
	}
	return items[i]
}

func TestSignedImageURL(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("Alice")
	bob, bobTok := e.newUser("Bob")
	ans := e.uploadImage(tok, "a.png", pngBytes(t, 2, 2)).object(t)
	fp := ans["filepath"].(string)
	bobFile := e.uploadImage(bobTok, "b.png", pngBytes(t, 2, 2)).object(t)
	u, _ := url.Parse(fp)
	q := u.Query()
	base := u.Path

	if r := e.fetch(fp, ""); r.status != 200 {
		t.Fatalf("valid: %s", r)
	}
	// Tampered signature, expiry, file or user.
	bad := []byte(q.Get("sig"))
	bad[0] ^= 2
	for name, path := range map[string]string{
		"signature":     base + "?exp=" + q.Get("exp") + "&sig=" + string(bad),
		"expiry":        base + "?exp=" + q.Get("exp") + "9&sig=" + q.Get("sig"),
		"no expiry":     base + "?sig=" + q.Get("sig"),
		"other file":    "/api/files/images/" + alice.ID + "/" + bobFile["file_id"].(string) + "?" + u.RawQuery,
		"other user":    "/api/files/images/" + bob.ID + "/" + ans["file_id"].(string) + "?" + u.RawQuery,
		"bob's file":    "/api/files/images/" + bob.ID + "/" + bobFile["file_id"].(string) + "?" + u.RawQuery,
		"garbage":       base + "?exp=abc&sig=zzz",
		"empty sig":     base + "?exp=" + q.Get("exp") + "&sig=x",
		"bob's bearer":  base + "?exp=" + q.Get("exp") + "&sig=" + string(bad),
		"negative exp":  base + "?exp=-1&sig=" + q.Get("sig"),
		"uploads path":  strings.Replace(fp, "/images/", "/uploads/", 1) + "x",
		"another query": fp + "0",
	} {
		token := ""
		if name == "bob's bearer" {
			token = bobTok
		}
		if r := e.fetch(path, token); r.status != http.StatusForbidden {
			t.Errorf("%s: %s", name, r)
		}
	}
	// Without a signature: only the owner's Bearer token.
	if r := e.fetch(base, ""); r.status != http.StatusUnauthorized {
		t.Errorf("no signature: %s", r)
	}
	if r := e.fetch(base, bobTok); r.status != http.StatusUnauthorized {
		t.Errorf("bob's token: %s", r)
	}
	if r := e.fetch(base, tok); r.status != 200 {
		t.Errorf("alice's token: %s", r)
	}
	// A document's id on the images path is not served inline.
	doc := e.uploadFile(tok, "x.txt", []byte("hello")).object(t)
	docURL, _ := url.Parse(doc["filepath"].(string))
	if r := e.fetch("/api/files/images/"+alice.ID+"/"+doc["file_id"].(string)+"?"+docURL.RawQuery, ""); r.status != 404 {
		t.Errorf("document on the images path: %s", r)
	}
	// Expired.
	e.clock.Advance(25 * time.Hour)
	if r := e.fetch(fp, ""); r.status != http.StatusForbidden || r.message(t) != "This file link has expired" {
		t.Errorf("expired: %s", r)
	}
	// The list signs again.
	list := e.do("GET", "/api/files", tok, "")
	var files []map[string]any
	json.Unmarshal(list.body, &files)
	for _, f := range files {
		if r := e.fetch(f["filepath"].(string), ""); r.status != 200 {
			t.Errorf("fresh URL from the list: %s", r)
		}
	}
	// A deleted file is gone even with a valid link.
	fresh := files[len(files)-1]["filepath"].(string)
	e.do("DELETE", "/api/files", tok, `{"files":[{"file_id":"`+files[len(files)-1]["file_id"].(string)+`","filepath":"x"}]}`)
	if r := e.fetch(fresh, ""); r.status != 404 {
		t.Errorf("deleted: %s", r)
	}
}

func TestDownload(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("Alice")
	bob, bobTok := e.newUser("Bob")
	ans := e.uploadFile(tok, "résumé final.txt", []byte("plain words")).object(t)
	id := ans["file_id"].(string)

	r := e.do("GET", "/api/files/download/"+alice.ID+"/"+id, tok, "")
	if r.status != 200 || string(r.body) != "plain words" || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download: %s %v", r, r.header)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="r_sum_ final.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.txt`) {
		t.Errorf("disposition %q", cd)
	}
	meta, err := url.PathUnescape(r.header.Get("X-File-Metadata"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(meta), &m); err != nil || m["file_id"] != id || m["filename"] != "résumé final.txt" || m["user"] != nil || m["text"] != nil {
		t.Errorf("metadata %s", meta)
	}
	// direct=true with a store that has no URLs streams too.
	if r := e.do("GET", "/api/files/download/"+alice.ID+"/"+id+"?direct=true", tok, ""); r.status != 200 || string(r.body) != "plain words" {
		t.Errorf("direct: %s", r)
	}
	// Bob: not found, whichever user id the path names.
	for _, p := range []string{"/api/files/download/" + alice.ID + "/" + id, "/api/files/download/" + bob.ID + "/" + id, "/api/files/download/" + alice.ID + "/" + id + "?direct=true"} {
		r := e.do("GET", p, bobTok, "")
		if r.status != 404 || r.message(t) != "File not found" || r.object(t)["error"] != "Not Found" {
			t.Errorf("bob %s: %s", p, r)
		}
	}

	// download-url
	r = e.do("GET", "/api/files/download-url/"+alice.ID+"/"+id, tok, "")
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("download-url: %s", r)
	}
	if got := keysOf(members(t, r.body)); !slices.Equal(got, []string{"url", "filename", "type", "metadata"}) {
		t.Errorf("download-url keys %v", got)
	}
	du := r.object(t)
	if du["filename"] != "résumé final.txt" || du["type"] != "text/plain" {
		t.Errorf("download-url: %s", r.body)
	}
	if f := e.fetch(du["url"].(string), ""); f.status != 200 || string(f.body) != "plain words" || !strings.HasPrefix(f.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download-url fetch: %s", f)
	}
	if r := e.do("GET", "/api/files/download-url/"+alice.ID+"/"+id, bobTok, ""); r.status != 404 {
		t.Errorf("bob download-url: %s", r)
	}
	// The download URL of an image is an attachment too.
	img := e.uploadImage(tok, "a.png", pngBytes(t, 1, 1)).object(t)
	du = e.do("GET", "/api/files/download-url/"+alice.ID+"/"+img["file_id"].(string), tok, "").object(t)
	if f := e.fetch(du["url"].(string), ""); f.status != 200 || !strings.HasPrefix(f.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("image download-url: %d %v", f.status, f.header)
	}
}

func TestPreview(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("Alice")
	_, bobTok := e.newUser("Bob")
	doc := e.uploadFile(tok, "a.csv", []byte("a,b\n1,2\n")).object(t)
	img := e.uploadImage(tok, "a.png", pngBytes(t, 1, 1)).object(t)
	r := e.do("GET", "/api/files/"+doc["file_id"].(string)+"/preview", tok, "")
	if r.status != 200 || string(r.body) != `{"file_id":"`+doc["file_id"].(string)+`","status":"ready","text":"a,b\n1,2\n"}` {
		t.Errorf("document preview: %s", r)
	}
	r = e.do("GET", "/api/files/"+img["file_id"].(string)+"/preview", tok, "")
	if r.status != 200 || string(r.body) != `{"file_id":"`+img["file_id"].(string)+`","status":"ready"}` {
		t.Errorf("image preview: %s", r)
	}
	if r := e.do("GET", "/api/files/"+doc["file_id"].(string)+"/preview", bobTok, ""); r.status != 404 {
		t.Errorf("bob preview: %s", r)
	}
	if r := e.do("GET", "/api/files/agent/agent_abc", tok, ""); r.status != 200 || string(r.body) != "[]" {
		t.Errorf("agent files: %s", r)
	}
	if r := e.do("GET", "/api/files/abc/def", tok, ""); r.status != 404 || r.message(t) != "Endpoint not found" {
		t.Errorf("unknown: %s", r)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("Alice")
	_, bobTok := e.newUser("Bob")
	a1 := e.uploadFile(tok, "a.txt", []byte("one")).object(t)
	a2 := e.uploadImage(tok, "b.png", pngBytes(t, 1, 1)).object(t)
	b1 := e.uploadFile(bobTok, "c.txt", []byte("bob")).object(t)
	entry := func(f map[string]any) string {
		return `{"file_id":"` + f["file_id"].(string) + `","filepath":"` + f["filepath"].(string) + `","embedded":false,"source":"local"}`
	}

	// Bob with alice's ids: answered like any delete, nothing removed.
	r := e.do("DELETE", "/api/files", bobTok, `{"files":[`+entry(a1)+`,`+entry(a2)+`]}`)
	if r.status != 200 || string(r.body) != `{"message":"Files deleted successfully"}` {
		t.Fatalf("bob: %s", r)
	}
	if n := len(e.blobKeys()); n != 3 {
		t.Fatalf("blobs after bob: %d", n)
	}
	var list []map[string]any
	json.Unmarshal(e.do("GET", "/api/files", tok, "").body, &list)
	if len(list) != 2 {
		t.Fatalf("alice's files after bob: %d", len(list))
	}
	if f := e.fetch(a1["filepath"].(string), ""); f.status != 200 {
		t.Errorf("alice's file after bob: %s", f)
	}

	// Malformed entries are ignored; nothing left to delete is 204.
	for _, body := range []string{
		`{"files":[]}`,
		`{"files":[{"file_id":"` + a1["file_id"].(string) + `"}]}`,                  // no filepath
		`{"files":[{"filepath":"x"}]}`,                                              // no file_id
		`{"files":[{"file_id":"not-a-uuid","filepath":"x"}]}`,                       // not a UUID
		`{"files":[{"file_id":"` + a1["file_id"].(string) + `","filepath":""}]}`,    // empty filepath
		`{"files":[1, "x", null, {"file_id": 5, "filepath": "x"}]}`,                 // not objects
		`{"files":[{"file_id":"` + a1["file_id"].(string) + `","filepath":false}]}`, // falsy filepath
	} {
		if r := e.do("DELETE", "/api/files", tok, body); r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("%s: %s", body, r)
		}
	}
	for _, body := range []string{`{}`, `{"files":{}}`, `{"files":"x"}`, `not json`} {
		if r := e.do("DELETE", "/api/files", tok, body); r.status != 400 || r.message(t) != "Error in request" {
			t.Errorf("%s: %s", body, r)
		}
	}
	if n := len(e.blobKeys()); n != 3 {
		t.Fatalf("blobs after malformed deletes: %d", n)
	}

	// Alice deletes her two and names bob's: bob's stays.
	r = e.do("DELETE", "/api/files", tok, `{"files":[`+entry(a1)+`,`+entry(a2)+`,`+entry(b1)+`,{"file_id":"file-abc","filepath":"x"}]}`)
	if r.status != 200 || r.message(t) != "Files deleted successfully" {
		t.Fatalf("alice: %s", r)
	}
	if l := e.do("GET", "/api/files", tok, ""); string(l.body) != "[]" {
		t.Errorf("alice's list after delete: %s", l)
	}
	if keys := e.blobKeys(); len(keys) != 1 || !strings.HasSuffix(keys[0], b1["file_id"].(string)) {
		t.Errorf("blobs after alice: %v", keys)
	}
	if l := e.do("GET", "/api/files", bobTok, ""); !strings.Contains(string(l.body), b1["file_id"].(string)) {
		t.Errorf("bob's file gone: %s", l)
	}
}

func TestAvatar(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("Alice")
	_, bobTok := e.newUser("Bob")
	ctx := context.Background()
	img := pngBytes(t, 4, 4)
	r := e.post("/api/files/images/avatar", tok, filePart("me.png", img, "image/png"), field("manual", "true"))
	if r.status != 200 {
		t.Fatalf("avatar: %s", r)
	}
	if got := keysOf(members(t, r.body)); !slices.Equal(got, []string{"url"}) {
		t.Errorf("keys %v", got)
	}
	url1 := r.object(t)["url"].(string)
	if strings.Contains(url1, "exp=") || !strings.HasPrefix(url1, "/api/files/images/"+alice.ID+"/") {
		t.Errorf("avatar url %s", url1)
	}
	u, _ := e.a.Store.UserByID(ctx, alice.ID)
	if u.Avatar != url1 {
		t.Errorf("user avatar %q", u.Avatar)
	}
	e.clock.Advance(400 * 24 * time.Hour)
	if f := e.fetch(url1, ""); f.status != 200 || !bytes.Equal(f.body, img) || f.header.Get("Content-Type") != "image/png" {
		t.Errorf("avatar fetch after a long time: %s", f)
	}
	// Avatars are not attachments: not listed.
	if l := e.do("GET", "/api/files", tok, ""); string(l.body) != "[]" {
		t.Errorf("list: %s", l)
	}
	// Replacing it removes the old one.
	r = e.post("/api/files/images/avatar", tok, filePart("me2.png", pngBytes(t, 5, 5), "image/png"))
	url2 := r.object(t)["url"].(string)
	if r.status != 200 || url2 == url1 {
		t.Fatalf("second avatar: %s", r)
	}
	if f := e.fetch(url1, ""); f.status != 404 {
		t.Errorf("old avatar still served: %s", f)
	}
	if n := len(e.blobKeys()); n != 1 {
		t.Errorf("blobs: %d", n)
	}
	// Refusals leave the user as it was.
	for name, p := range map[string]part{
		"text":       filePart("me.png", []byte("not an image"), "image/png"),
		"executable": filePart("me.png", elfHeader, "image/png"),
		"pdf":        filePart("me.pdf", []byte("%PDF-1.4\n"), "application/pdf"),
	} {
		if r := e.post("/api/files/images/avatar", tok, p); r.status != 400 {
			t.Errorf("%s: %s", name, r)
		}
	}
	big := append(pngBytes(t, 2, 2), bytes.Repeat([]byte{0}, 3<<20)...)
	if r := e.post("/api/files/images/avatar", tok, filePart("big.png", big, "image/png")); r.status != 413 {
		t.Errorf("too large: %s", r)
	}
	if r := e.post("/api/files/images/avatar", tok, field("manual", "true")); r.status != 400 || r.message(t) != "No file provided" {
		t.Errorf("no file: %s", r)
	}
	u, _ = e.a.Store.UserByID(ctx, alice.ID)
	if u.Avatar != url2 || len(e.blobKeys()) != 1 {
		t.Errorf("after refusals: avatar %q, %d blobs", u.Avatar, len(e.blobKeys()))
	}
	// Bob's avatar upload changes only bob.
	if r := e.post("/api/files/images/avatar", bobTok, filePart("b.png", img, "image/png")); r.status != 200 {
		t.Fatalf("bob: %s", r)
	}
	u, _ = e.a.Store.UserByID(ctx, alice.ID)
	if u.Avatar != url2 {
		t.Error("bob's upload changed alice")
	}
}

func TestUploadLimitsAndBadInput(t *testing.T) {
	e := newEnv(t, withYAML(`
fileConfig:
  endpoints:
    FakeOpenAI:
      fileSizeLimit: 1
    openAI:
      disabled: true
    google:
      supportedMimeTypes: ["^image/"]
  serverFileSizeLimit: 2
`))
	_, tok := e.newUser("Alice")
	cases := []struct {
		name   string
		path   string
		parts  []part
		status int
		msg    string
	}{
		{"over the endpoint limit", "/api/files", uploadForm("big.txt", bytes.Repeat([]byte("a"), 1<<20+1)), 413, "File size limit of 1 MB exceeded for FakeOpenAI endpoint"},
		{"over the server limit", "/api/files", uploadForm("big.txt", bytes.Repeat([]byte("a"), 2<<20+1)), 413, "File size limit of 2 MB exceeded"},
		{"disabled endpoint", "/api/files", []part{field("endpoint", "openAI"), field("file_id", clientFileID), filePart("a.txt", []byte("x"), "")}, 403, "File uploads are disabled for the openAI endpoint"},
		{"unsupported type", "/api/files", []part{field("endpoint", "google"), field("file_id", clientFileID), filePart("a.txt", []byte("x"), "")}, 415, "Unsupported file type: text/plain"},
		{"elf named png", "/api/files/images", uploadForm("cat.png", elfHeader, field("width", "1"), field("height", "1")), 400, `"cat.png" is an executable (ELF); executable files are not accepted`},
		{"elf as a document", "/api/files", uploadForm("tool", elfHeader), 400, "executable"},
		{"script named png", "/api/files", uploadForm("cat.png", []byte("#!/bin/sh\necho pwned\n")), 400, `"cat.png" is not an image`},
		{"html on the images route", "/api/files/images", uploadForm("x.png", []byte("<html><script>alert(1)</script></html>")), 400, "is not an image"},
		{"missing file", "/api/files", []part{field("endpoint", "FakeOpenAI"), field("file_id", clientFileID)}, 400, "No file provided"},
		{"file as a text field", "/api/files", []part{field("endpoint", "FakeOpenAI"), field("file_id", clientFileID), field("file", "abc")}, 400, "No file provided"},
		{"two files", "/api/files", append(uploadForm("a.txt", []byte("a")), filePart("b.txt", []byte("b"), "")), 400, "Only one file may be uploaded at a time"},
		{"other file field", "/api/files", append(uploadForm("a.txt", []byte("a")), part{name: "avatar", filename: "x.txt", data: []byte("x")}), 400, `Unexpected file field "avatar"`},
		{"no file_id", "/api/files", []part{field("endpoint", "FakeOpenAI"), filePart("a.txt", []byte("x"), "")}, 400, "No file_id provided"},
		{"bad file_id", "/api/files", []part{field("endpoint", "FakeOpenAI"), field("file_id", "x/../y"), filePart("a.txt", []byte("x"), "")}, 400, "Invalid file_id"},
		{"no endpoint", "/api/files", []part{field("file_id", clientFileID), filePart("a.txt", []byte("x"), "")}, 400, "No endpoint provided"},
		{"empty file", "/api/files", uploadForm("a.txt", nil), 400, "Empty file uploaded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.post(c.path, tok, c.parts...)
			if r.status != c.status || !strings.Contains(r.message(t), c.msg) {
				t.Errorf("%s, want %d %q", r, c.status, c.msg)
			}
		})
	}
	// Not multipart.
	if r := e.do("POST", "/api/files", tok, `{"file":"x"}`); r.status != 400 || r.message(t) != "Expected a multipart/form-data body" {
		t.Errorf("json body: %s", r)
	}
	// A declared length over the cap is refused before reading.
	req := httptest.NewRequest("POST", "/api/files", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.ContentLength = 10 << 20
	if r := e.serve(req); r.status != 413 {
		t.Errorf("content length: %s", r)
	}
	// Nothing was stored by any of them.
	if l := e.do("GET", "/api/files", tok, ""); string(l.body) != "[]" || len(e.blobKeys()) != 0 {
		t.Errorf("left behind: %s, blobs %v", l, e.blobKeys())
	}
	// A path in the name is dropped; the upload works.
	r := e.post("/api/files", tok, uploadForm("..%2F..%2Fetc%2Fpasswd", []byte("root:x:0:0\n"))...)
	if r.status != 200 || r.object(t)["filename"] != "passwd" {
		t.Errorf("path in name: %s", r)
	}
	if keys := e.blobKeys(); len(keys) != 1 || strings.Contains(keys[0], "passwd") || strings.Contains(keys[0], "..") {
		t.Errorf("blob keys %v", keys)
	}
}

func TestLargeUploadPassesTheCommonBodyLimit(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("Alice")
	data := bytes.Repeat([]byte("0123456789abcdef\n"), (4<<20)/17) // about 4 MB, over httpx.MaxBody
	r := e.uploadFile(tok, "big.txt", data)
	if r.status != 200 || int(r.object(t)["bytes"].(float64)) != len(data) {
		t.Fatalf("4 MB upload: %d %.200s", r.status, r.body)
	}
	// Other routes keep the common limit.
	big := `{"files":[` + strings.Repeat(`{"file_id":"x","filepath":"y"},`, 120000) + `{}]}`
	if r := e.do("DELETE", "/api/files", tok, big); r.status != 413 {
		t.Errorf("large delete body: %d", r.status)
	}
}

func TestUploadRateLimit(t *testing.T) {
	e := newEnv(t, withOptions(func(o *filesfn.Options) { o.UploadUserMax = 2 }))
	_, tok := e.newUser("Alice")
	_, bobTok := e.newUser("Bob")
	for i := range 2 {
		if r := e.uploadFile(tok, "a.txt", []byte("x")); r.status != 200 {
			t.Fatalf("upload %d: %s", i, r)
		}
	}
	r := e.uploadFile(tok, "a.txt", []byte("x"))
	if r.status != 429 || r.message(t) != "Too many file upload requests. Try again later" || r.header.Get("Retry-After") == "" {
		t.Errorf("third: %s", r)
	}
	if r := e.post("/api/files/images/avatar", tok, filePart("a.png", pngBytes(t, 1, 1), "image/png")); r.status != 429 {
		t.Errorf("avatar counts too: %s", r)
	}
	if r := e.uploadFile(bobTok, "a.txt", []byte("x")); r.status != 200 {
		t.Errorf("bob is limited separately: %s", r)
	}
	e.clock.Advance(16 * time.Minute)
	if r := e.uploadFile(tok, "a.txt", []byte("x")); r.status != 200 {
		t.Errorf("after the window: %s", r)
	}
}

func TestFileConfigAndSpeech(t *testing.T) {
	yaml := "fileConfig:\n  endpoints:\n    default:\n      fileLimit: 5\n      supportedMimeTypes: [\"image/.*\"]\n    openAI:\n      disabled: true\n  serverFileSizeLimit: 20\n  avatarSizeLimit: 2\n"
	for name, opts := range map[string][]envOption{"unset": nil, "set": {withYAML(yaml)}} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opts...)
			_, tok := e.newUser("Alice")
			r := e.do("GET", "/api/files/config", tok, "")
			if r.status != 200 {
				t.Errorf("files config: %s", r)
			}
			if name == "unset" && string(r.body) != "{}" {
				t.Errorf("unset: %s", r.body)
			}
			if name == "set" && string(r.body) != `{"endpoints":{"default":{"fileLimit":5,"supportedMimeTypes":["image/.*"]},"openAI":{"disabled":true}},"serverFileSizeLimit":20,"avatarSizeLimit":2}` {
				t.Errorf("set: %s", r.body)
			}
			if r := e.do("GET", "/api/files/speech/config/get", tok, ""); r.status != 200 || string(r.body) != "{}" {
				t.Errorf("speech config: %s", r)
			}
		})
	}
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t)
	for _, rt := range [][2]string{
		{"GET", "/api/files"}, {"POST", "/api/files"}, {"POST", "/api/files/images"},
		{"POST", "/api/files/images/avatar"}, {"DELETE", "/api/files"}, {"GET", "/api/files/config"},
		{"GET", "/api/files/speech/config/get"}, {"GET", "/api/files/download/u/f"},
		{"GET", "/api/files/download-url/u/f"}, {"GET", "/api/files/f/preview"}, {"GET", "/api/files/nothing"},
	} {
		r := e.do(rt[0], rt[1], "", "")
		if r.status != 401 || r.message(t) != "No auth token" {
			t.Errorf("%s %s: %s", rt[0], rt[1], r)
		}
	}
	_, tok := e.newUser("Alice")
	if r := e.do("GET", "/api/files/nothing", tok, ""); r.status != 404 || r.message(t) != "Endpoint not found" {
		t.Errorf("unknown route: %s", r)
	}
	if r := e.do("PUT", "/api/files", tok, ""); r.status != 404 && r.status != 405 {
		t.Errorf("PUT: %s", r)
	}
}

func TestNewOpensTheConfiguredStore(t *testing.T) {
	e := newEnv(t)
	h, err := filesfn.New(e.a) // fileStrategy unset: DATA_DIR/uploads
	if err != nil {
		t.Fatal(err)
	}
	_, tok := e.newUser("Alice")
	e.h = h
	ans := e.uploadFile(tok, "a.txt", []byte("on disk")).object(t)
	key := "files/" + ans["user"].(string) + "/" + ans["file_id"].(string)
	data, err := os.ReadFile(filepath.Join(e.a.Config.DataDir, "uploads", filepath.FromSlash(key)))
	if err != nil || string(data) != "on disk" {
		t.Errorf("stored under DATA_DIR/uploads: %q %v", data, err)
	}
	e.a.Config.File.FileStrategy = "ftp"
	if _, err := filesfn.New(e.a); err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Errorf("unknown strategy: %v", err)
	}
}

func TestRenewStoredFilepaths(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("Alice")
	ans := e.uploadImage(tok, "a.png", pngBytes(t, 1, 1)).object(t)
	stored := json.RawMessage(`[{"file_id":"` + ans["file_id"].(string) + `","filepath":"` + ans["filepath"].(string) + `","type":"image/png","width":1,"height":1}]`)
	e.clock.Advance(48 * time.Hour)
	if r := e.fetch(ans["filepath"].(string), ""); r.status != http.StatusForbidden {
		t.Fatalf("old link: %s", r)
	}
	signer, err := filesfn.URLSigner(e.a, 0)
	if err != nil {
		t.Fatal(err)
	}
	var renewed []map[string]any
	if err := json.Unmarshal(signer.RenewFiles(ans["user"].(string), stored), &renewed); err != nil || len(renewed) != 1 {
		t.Fatal(err)
	}
	if r := e.fetch(renewed[0]["filepath"].(string), ""); r.status != 200 {
		t.Errorf("renewed link: %s", r)
	}
	// Renewing for another user leaves the link as it was.
	if got := signer.RenewFiles("someone-else", stored); string(got) != string(stored) {
		t.Errorf("renewed for another user: %s", got)
	}
}
