package files_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"
	"time"

	filesfn "github.com/lcgo/lcgo/functions/files"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/blob/disk"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

type testEnv struct {
	t       *testing.T
	a       *app.App
	h       http.Handler
	clock   *apptest.Clock
	signer  *auth.Signer
	blobDir string
}

type envOption func(*cfgpkg.Config, *filesfn.Options)

func withYAML(y string) envOption {
	return func(c *cfgpkg.Config, _ *filesfn.Options) {
		f, err := cfgpkg.ParseFile("librechat.yaml", []byte(y), nil)
		if err != nil {
			panic(err)
		}
		c.File = *f
	}
}

func withOptions(f func(*filesfn.Options)) envOption {
	return func(_ *cfgpkg.Config, o *filesfn.Options) { f(o) }
}

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	var o filesfn.Options
	a, parts := apptest.New(t, func(c *cfgpkg.Config) {
		for _, f := range opts {
			f(c, &o)
		}
	})
	dir := t.TempDir()
	blobs, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	o.Blobs = blobs
	h, err := filesfn.NewWithOptions(a, o)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := auth.FromApp(a)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, a: a, h: h, clock: parts.Clock, signer: signer, blobDir: dir}
}

// newUser stores a USER and returns it with an access token.
func (e *testEnv) newUser(name string) (*librechat.User, string) {
	e.t.Helper()
	id := e.a.IDs.ObjectID()
	u := &librechat.User{
		ID: id, Name: name, Username: strings.ToLower(name), Email: strings.ToLower(name) + "@example.com",
		EmailVerified: true, Provider: librechat.ProviderLocal, Role: librechat.RoleUser,
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
	}
	if err := e.a.Store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Access(u, 1000*24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return u, tok
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (r result) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (r result) message(t *testing.T) string {
	t.Helper()
	s, _ := r.object(t)["message"].(string)
	return s
}

func (e *testEnv) serve(req *http.Request) result {
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func (e *testEnv) do(method, path, token, body string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

// part is one multipart field; a file when filename is set.
type part struct {
	name, filename, contentType string
	data                        []byte
}

func field(name, value string) part { return part{name: name, data: []byte(value)} }

func filePart(name string, data []byte, contentType string) part {
	return part{name: "file", filename: name, data: data, contentType: contentType}
}

func multipartBody(t *testing.T, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		if p.filename == "" {
			if err := w.WriteField(p.name, string(p.data)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename))
		ct := p.contentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, w.FormDataContentType()
}

func (e *testEnv) post(path, token string, parts ...part) result {
	e.t.Helper()
	body, ct := multipartBody(e.t, parts...)
	req := httptest.NewRequest(http.MethodPost, path, body)
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

const clientFileID = "7d0f9c1e-2b3a-4c5d-8e6f-a1b2c3d4e5f6"

// uploadForm is the form the LibreChat client sends for a chat attachment.
func uploadForm(name string, data []byte, extra ...part) []part {
	parts := []part{
		field("endpoint", "FakeOpenAI"), field("endpointType", "custom"),
		filePart(name, data, ""), field("file_id", clientFileID), field("message_file", "true"),
	}
	return append(parts, extra...)
}

// uploadImage posts an image the way the client does and returns the answer.
func (e *testEnv) uploadImage(token, name string, data []byte) result {
	e.t.Helper()
	return e.post("/api/files/images", token, uploadForm(name, data, field("width", "3"), field("height", "2"))...)
}

func (e *testEnv) uploadFile(token, name string, data []byte) result {
	e.t.Helper()
	return e.post("/api/files", token, uploadForm(name, data)...)
}

// fetch GETs a URL path with its query, with no Authorization header
// unless token is given (as a browser's <img> does).
func (e *testEnv) fetch(url, token string) result {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 50), uint8(y * 50), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var elfHeader = []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00\x01\x00\x00\x00")

// blobKeys lists the objects stored on disk.
func (e *testEnv) blobKeys() []string {
	e.t.Helper()
	var keys []string
	err := filepath.WalkDir(e.blobDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != e.blobDir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(e.blobDir, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// member is one key of a JSON object, in document order.
type member struct {
	key string
	raw json.RawMessage
}

func members(t *testing.T, data []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", data)
	}
	var out []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, member{key: k.(string), raw: raw})
	}
	return out
}

func keysOf(ms []member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.key
	}
	return out
}
