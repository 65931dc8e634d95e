// Package blobtest is the conformance suite every blob.Store passes.
//
//	func TestSuite(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
//	}
//
// open is called once per subtest; it may return a fresh store or the same
// one (every subtest uses keys of its own). Subtests run in parallel.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/librechat"
)

// LargeSize is the size of the object the Large subtest streams.
const LargeSize = 5 << 20

// Suite is the conformance suite with its settings.
type Suite struct {
	// HTTPClient fetches the URLs a store returns (http.DefaultClient when
	// nil): set it when they point at a host that needs a special dialer or
	// certificate pool.
	HTTPClient *http.Client
	// Skip names subtests to skip, with the reason: for a store run against
	// a stand-in server that lacks what the subtest needs. A store itself
	// never skips anything.
	Skip map[string]string
}

// Run runs the suite with default settings.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	t.Helper()
	Suite{}.Run(t, open)
}

// Run runs every subtest against stores made by open.
func (s Suite) Run(t *testing.T, open func(t *testing.T) blob.Store) {
	t.Helper()
	hc := s.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, st blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyObject", testEmptyObject},
		{"DefaultContentType", testDefaultContentType},
		{"Replace", testReplace},
		{"GetMissing", testGetMissing},
		{"DeleteIdempotent", testDeleteIdempotent},
		{"GetDeleted", testGetDeleted},
		{"Large", testLarge},
		{"NestedKeys", testNestedKeys},
		{"ConcurrentPuts", testConcurrentPuts},
		{"InvalidKeys", testInvalidKeys},
		{"ShortBody", testShortBody},
		{"LongBody", testLongBody},
		{"URL", func(t *testing.T, st blob.Store) { testURL(t, st, hc) }},
		{"URLMissing", func(t *testing.T, st blob.Store) { testURLMissing(t, st, hc) }},
		{"CancelPut", testCancelPut},
		{"CanceledContext", testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := s.Skip[tc.name]; ok {
				t.Skip(why)
			}
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// opaque hides every method but Read, so a store cannot seek or size it.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

func put(t *testing.T, st blob.Store, key string, data []byte, contentType string) {
	t.Helper()
	if err := st.Put(ctxFor(t), key, bytes.NewReader(data), int64(len(data)), contentType); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// get reads key and checks its bytes, size and (when not "") content type.
func get(t *testing.T, st blob.Store, key string, want []byte, contentType string) *blob.Info {
	t.Helper()
	rc, info, err := st.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): reading: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Get(%q) = %d bytes %q, want %d bytes %q", key, len(got), clip(got), len(want), clip(want))
	}
	if info == nil {
		t.Fatalf("Get(%q): nil Info", key)
	}
	if info.Size != int64(len(want)) {
		t.Errorf("Get(%q): Info.Size = %d, want %d", key, info.Size, len(want))
	}
	if contentType != "" && info.ContentType != contentType {
		t.Errorf("Get(%q): Info.ContentType = %q, want %q", key, info.ContentType, contentType)
	}
	return info
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

func wantNotFound(t *testing.T, st blob.Store, key string) {
	t.Helper()
	rc, info, err := st.Get(ctxFor(t), key)
	if err == nil {
		rc.Close()
		t.Fatalf("Get(%q) = %+v, want a not-found error", key, info)
	}
	if k := librechat.KindOf(err); k != librechat.KindNotFound {
		t.Fatalf("Get(%q): error %v has kind %v, want %v", key, err, k, librechat.KindNotFound)
	}
	if rc != nil {
		t.Errorf("Get(%q): non-nil reader with an error", key)
	}
}

func testRoundTrip(t *testing.T, st blob.Store) {
	data := []byte("hello, blob store\n")
	const ct = "text/plain; charset=utf-8"
	before := time.Now().Add(-time.Hour)
	put(t, st, "roundtrip/obj.txt", data, ct)
	info := get(t, st, "roundtrip/obj.txt", data, ct)
	if info.ModTime.IsZero() || info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Hour)) {
		t.Errorf("Info.ModTime = %v, want about now", info.ModTime)
	}
	// Binary bytes and a content type with parameters survive as well.
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	put(t, st, "roundtrip/bin", bin, "image/png")
	get(t, st, "roundtrip/bin", bin, "image/png")
}

func testEmptyObject(t *testing.T, st blob.Store) {
	put(t, st, "empty/zero", nil, "text/plain")
	get(t, st, "empty/zero", []byte{}, "text/plain")
}

func testDefaultContentType(t *testing.T, st blob.Store) {
	put(t, st, "default-type/object", []byte("x"), "")
	get(t, st, "default-type/object", []byte("x"), "application/octet-stream")
}

func testReplace(t *testing.T, st blob.Store) {
	put(t, st, "replace/obj", []byte("first version, longer"), "text/plain")
	put(t, st, "replace/obj", []byte("second"), "application/json")
	get(t, st, "replace/obj", []byte("second"), "application/json")
	put(t, st, "replace/obj", []byte("third and the longest of them all"), "text/csv")
	get(t, st, "replace/obj", []byte("third and the longest of them all"), "text/csv")
}

func testGetMissing(t *testing.T, st blob.Store) {
	wantNotFound(t, st, "missing/never-stored")
	wantNotFound(t, st, "missing-top-level")
}

func testDeleteIdempotent(t *testing.T, st blob.Store) {
	ctx := ctxFor(t)
	if err := st.Delete(ctx, "delete/never-stored"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	put(t, st, "delete/obj", []byte("bye"), "text/plain")
	for i := range 3 {
		if err := st.Delete(ctx, "delete/obj"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	wantNotFound(t, st, "delete/obj")
}

func testGetDeleted(t *testing.T, st blob.Store) {
	put(t, st, "deleted/a", []byte("a"), "text/plain")
	put(t, st, "deleted/b", []byte("b"), "text/plain")
	if err := st.Delete(ctxFor(t), "deleted/a"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, st, "deleted/a")
	get(t, st, "deleted/b", []byte("b"), "text/plain")
	// A key can be stored again after its deletion.
	put(t, st, "deleted/a", []byte("again"), "text/html")
	get(t, st, "deleted/a", []byte("again"), "text/html")
}

func testLarge(t *testing.T, st blob.Store) {
	data := make([]byte, LargeSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(data); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(data); j++ {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	want := sha256.Sum256(data)
	// The reader cannot seek: the store has to stream it.
	if err := st.Put(ctxFor(t), "large/blob.bin", opaque{bytes.NewReader(data)}, int64(len(data)), "application/octet-stream"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	rc, info, err := st.Get(ctxFor(t), "large/blob.bin")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, rc, make([]byte, 32<<10))
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if n != LargeSize || info.Size != LargeSize {
		t.Errorf("read %d bytes, Info.Size %d, want %d", n, info.Size, LargeSize)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Errorf("the large object came back different")
	}
}

func testNestedKeys(t *testing.T, st blob.Store) {
	keys := []string{
		"nested/user-1/files/file-1/deep/er/still/name.bin",
		"nested/user-1/files/file-2",
		"nested/user-1/avatar.png",
		"nested/user-2/files/file-1/deep/er/still/name.bin",
		"nested/ünïcode/ключ/文件.txt",
		"nested/with space/and-dash_under~tilde(1)+plus=eq,comma;semi@at!bang$dollar&amp'quote",
	}
	for i, k := range keys {
		put(t, st, k, fmt.Appendf(nil, "object %d", i), "text/plain")
	}
	for i, k := range keys {
		get(t, st, k, fmt.Appendf(nil, "object %d", i), "text/plain")
	}
	// A prefix of stored keys is not an object, and deleting it removes
	// nothing below it.
	wantNotFound(t, st, "nested/user-1/files")
	if err := st.Delete(ctxFor(t), "nested/user-1/files"); err != nil {
		t.Fatalf("Delete of a prefix: %v", err)
	}
	get(t, st, keys[0], []byte("object 0"), "text/plain")
	if err := st.Delete(ctxFor(t), keys[1]); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, st, keys[1])
	get(t, st, keys[0], []byte("object 0"), "text/plain")
	get(t, st, keys[3], []byte("object 3"), "text/plain")
}

func testConcurrentPuts(t *testing.T, st blob.Store) {
	const n = 16
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			data := bytes.Repeat(fmt.Appendf(nil, "%02d", i), 1000+i)
			key := fmt.Sprintf("concurrent/%d/obj-%d", i%4, i)
			errs[i] = st.Put(ctx, key, bytes.NewReader(data), int64(len(data)), fmt.Sprintf("text/x-%d", i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put #%d: %v", i, err)
		}
	}
	for i := range n {
		data := bytes.Repeat(fmt.Appendf(nil, "%02d", i), 1000+i)
		get(t, st, fmt.Sprintf("concurrent/%d/obj-%d", i%4, i), data, fmt.Sprintf("text/x-%d", i))
	}
}

// InvalidKeys are keys every store refuses with a KindInvalid error.
var InvalidKeys = []string{
	"",
	"/absolute",
	"/",
	"trailing/",
	"double//slash",
	"..",
	"../escape",
	"a/../../escape",
	"a/..",
	".",
	"./a",
	"a/./b",
	".hidden",
	"a/.hidden",
	`back\slash`,
	`..\escape`,
	"C:/windows",
	"nul\x00byte",
	"new\nline",
	"tab\there",
	"bad\xffutf8",
	strings.Repeat("k", blob.MaxSegmentLen+1),
	strings.Repeat("k/", blob.MaxKeyLen/2) + "k",
}

func testInvalidKeys(t *testing.T, st blob.Store) {
	ctx := ctxFor(t)
	for _, key := range InvalidKeys {
		err := st.Put(ctx, key, strings.NewReader("x"), 1, "text/plain")
		if k := librechat.KindOf(err); k != librechat.KindInvalid {
			t.Errorf("Put(%q) = %v (kind %v), want kind %v", key, err, k, librechat.KindInvalid)
		}
		rc, _, err := st.Get(ctx, key)
		if rc != nil {
			rc.Close()
		}
		if k := librechat.KindOf(err); k != librechat.KindInvalid {
			t.Errorf("Get(%q) = %v (kind %v), want kind %v", key, err, k, librechat.KindInvalid)
		}
		if err := st.Delete(ctx, key); librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("Delete(%q) = %v, want kind %v", key, err, librechat.KindInvalid)
		}
		if _, err := st.URL(ctx, key, time.Minute, "f.txt"); librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("URL(%q) = %v, want kind %v", key, err, librechat.KindInvalid)
		}
	}
	// The longest valid key, made of the longest segments, works.
	seg := strings.Repeat("k", blob.MaxSegmentLen)
	long := "invalid/" + seg + "/" + seg + "/" + seg + "/"
	long += strings.Repeat("z", blob.MaxKeyLen-len(long))
	put(t, st, long, []byte("long"), "text/plain")
	get(t, st, long, []byte("long"), "text/plain")
}

func testShortBody(t *testing.T, st blob.Store) {
	ctx := ctxFor(t)
	err := st.Put(ctx, "short/new", opaque{strings.NewReader("only 12 byte")}, 100, "text/plain")
	if err == nil || !errors.Is(err, blob.ErrSize) || librechat.KindOf(err) != librechat.KindInvalid {
		t.Fatalf("Put of a short body = %v, want a KindInvalid error wrapping blob.ErrSize", err)
	}
	wantNotFound(t, st, "short/new")

	put(t, st, "short/existing", []byte("kept"), "text/plain")
	if err := st.Put(ctx, "short/existing", opaque{strings.NewReader("abc")}, 10, "text/html"); err == nil {
		t.Fatal("Put of a short body over an existing object succeeded")
	}
	get(t, st, "short/existing", []byte("kept"), "text/plain")

	if err := st.Put(ctx, "short/negative", strings.NewReader(""), -1, "text/plain"); librechat.KindOf(err) != librechat.KindInvalid {
		t.Fatalf("Put with size -1 = %v, want kind %v", err, librechat.KindInvalid)
	}
}

func testLongBody(t *testing.T, st blob.Store) {
	ctx := ctxFor(t)
	for _, r := range []io.Reader{strings.NewReader("twelve bytes"), opaque{strings.NewReader("twelve bytes")}} {
		err := st.Put(ctx, "long/new", r, 6, "text/plain")
		if err == nil || !errors.Is(err, blob.ErrSize) || librechat.KindOf(err) != librechat.KindInvalid {
			t.Fatalf("Put(%T) of a long body = %v, want a KindInvalid error wrapping blob.ErrSize", r, err)
		}
		wantNotFound(t, st, "long/new")
	}
	// Zero bytes declared but some given.
	if err := st.Put(ctx, "long/zero", opaque{strings.NewReader("x")}, 0, "text/plain"); !errors.Is(err, blob.ErrSize) {
		t.Fatalf("Put of 1 byte declared as 0 = %v, want blob.ErrSize", err)
	}
	wantNotFound(t, st, "long/zero")
}

func testURL(t *testing.T, st blob.Store, hc *http.Client) {
	data := []byte("download me\n")
	put(t, st, "url/report.txt", data, "text/plain")
	for _, filename := range []string{"", "report 2024.txt", "résumé – 東京.pdf", `quote"and\back%25.txt`} {
		u, err := st.URL(ctxFor(t), "url/report.txt", 5*time.Minute, filename)
		if err != nil {
			t.Fatalf("URL(filename %q): %v", filename, err)
		}
		if u == "" {
			return // the store has no URLs: the API streams
		}
		body, hdr := fetch(t, hc, u, http.StatusOK)
		if !bytes.Equal(body, data) {
			t.Errorf("GET %s = %q, want %q", u, body, data)
		}
		cd := hdr.Get("Content-Disposition")
		if filename == "" || cd == "" {
			continue
		}
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil {
			t.Errorf("Content-Disposition %q: %v", cd, err)
			continue
		}
		if disp != "attachment" || params["filename"] != filename {
			t.Errorf("Content-Disposition %q = %s, filename %q; want attachment, %q", cd, disp, params["filename"], filename)
		}
	}
}

func testURLMissing(t *testing.T, st blob.Store, hc *http.Client) {
	u, err := st.URL(ctxFor(t), "url-missing/none", time.Minute, "none.txt")
	switch {
	case err != nil:
		if librechat.KindOf(err) != librechat.KindNotFound {
			t.Fatalf("URL of a missing key: %v, want no error or a not-found one", err)
		}
	case u != "":
		fetch(t, hc, u, http.StatusNotFound)
	}
}

func fetch(t *testing.T, hc *http.Client, u string, wantStatus int) ([]byte, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("URL %q: %v", u, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d (%s), want %d", u, resp.StatusCode, clip(body), wantStatus)
	}
	return body, resp.Header
}

// blocking is a reader that hands out a few bytes and then blocks until it is
// released.
type blocking struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	sent    bool
}

func (b *blocking) Read(p []byte) (int, error) {
	if !b.sent && len(p) > 0 {
		b.sent = true
		p[0] = 'x'
		return 1, nil
	}
	b.once.Do(func() { close(b.started) })
	<-b.release
	return 0, errors.New("blobtest: reader released")
}

func testCancelPut(t *testing.T, st blob.Store) {
	r := &blocking{started: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(r.release) })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.Put(ctx, "cancel/obj", opaque{r}, 1<<20, "text/plain") }()
	select {
	case <-r.started:
	case err := <-done:
		t.Fatalf("Put returned before reading its body: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Put never read its body")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled Put = %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Put did not return after its context was canceled")
	}
	wantNotFound(t, st, "cancel/obj")
}

func testCanceledContext(t *testing.T, st blob.Store) {
	put(t, st, "canceled/obj", []byte("x"), "text/plain")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := st.Put(ctx, "canceled/new", strings.NewReader("x"), 1, "text/plain"); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context = %v, want context.Canceled", err)
	}
	if rc, _, err := st.Get(ctx, "canceled/obj"); !errors.Is(err, context.Canceled) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get with a canceled context = %v, want context.Canceled", err)
	}
	wantNotFound(t, st, "canceled/new")
}
