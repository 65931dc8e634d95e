package files_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/blob/disk"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Tiny real images, made here.

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 40), uint8(y * 40), 200, 255})
		}
	}
	return img
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// noisyPNG is a PNG that does not compress.
func noisyPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webp1x1 is a complete lossless 1x1 WebP image.
var webp1x1 = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\r\x00\x00\x00/\x00\x00\x00\x10\a\x10\x11\x11\x88\x88\xfe\a\x00")

// webpHeader is a lossless WebP header announcing w x h (enough for the
// dimensions; the pixels are those of webp1x1).
func webpHeader(w, h int) []byte {
	b := slices.Clone(webp1x1)
	bits := uint32(w-1) | uint32(h-1)<<14
	b[21] = byte(bits)
	b[22] = byte(bits >> 8)
	b[23] = byte(bits >> 16)
	b[24] = byte(bits>>24) | b[24]&0xf0
	return b
}

var elfHeader = []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00\x01\x00\x00\x00")

func zipBytes() []byte {
	// An empty ZIP archive with one stored entry header is enough for
	// sniffing; this is the local file header of "a.txt".
	return append([]byte("PK\x03\x04\x14\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0}, 30)...)
}

// memFiles is an in-memory librechat.FileStore that can be told to fail.
type memFiles struct {
	mu      sync.Mutex
	files   map[string]*librechat.File // by id
	failPut error
}

func newMemFiles() *memFiles { return &memFiles{files: map[string]*librechat.File{}} }

func (m *memFiles) PutFile(_ context.Context, f *librechat.File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		return m.failPut
	}
	if old, ok := m.files[f.ID]; ok && old.UserID != f.UserID {
		return librechat.E(librechat.KindConflict, "file id taken")
	}
	c := *f
	m.files[f.ID] = &c
	return nil
}

func (m *memFiles) File(_ context.Context, userID, id string) (*librechat.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[id]
	if !ok || f.UserID != userID {
		return nil, librechat.E(librechat.KindNotFound, "file not found")
	}
	c := *f
	return &c, nil
}

func (m *memFiles) Files(_ context.Context, userID string) ([]*librechat.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*librechat.File
	for _, f := range m.files {
		if f.UserID == userID {
			c := *f
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out, nil
}

func (m *memFiles) DeleteFile(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[id]
	if !ok || f.UserID != userID {
		return librechat.E(librechat.KindNotFound, "file not found")
	}
	delete(m.files, id)
	return nil
}

func (m *memFiles) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.files)
}

// failingBlobs wraps a store and fails Put after writing part of the
// object, as a broken connection would.
type failingBlobs struct {
	blob.Store
	failPut bool
}

func (f *failingBlobs) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) error {
	if f.failPut {
		_ = f.Store.Put(ctx, key, io.LimitReader(r, 3), 3, ct)
		return errors.New("connection reset")
	}
	return f.Store.Put(ctx, key, r, size, ct)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	svc   *files.Service
	store *memFiles
	blobs *failingBlobs
	dir   string
	clock *clock
	alice *librechat.User
	bob   *librechat.User
}

func newEnv(t *testing.T, fc config.Object) *env {
	t.Helper()
	dir := t.TempDir()
	d, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)}
	e := &env{
		t: t, store: newMemFiles(), blobs: &failingBlobs{Store: d}, dir: dir, clock: c,
		alice: &librechat.User{ID: "6b0858f5a60555e69ee65a66"},
		bob:   &librechat.User{ID: "6b0858f5a60555e69ee65a77"},
	}
	e.svc, err = files.New(files.Config{
		Blobs: e.blobs, Files: e.store, FileConfig: fc, Clock: c, IDs: &app.RandomIDs{Clock: c},
		Signer: files.NewURLSigner("secret", c, time.Hour), MaxImagePart: 64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const clientFileID = "2f1e0d6c-9d7a-4a3b-8c2d-1e0f9a8b7c6d"

func fields(kv ...string) map[string]string {
	m := map[string]string{"file_id": clientFileID, "endpoint": "openAI"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func (e *env) upload(u *librechat.User, name string, data []byte, up files.Upload) (*librechat.File, error) {
	e.t.Helper()
	if up.Fields == nil {
		up.Fields = fields()
	}
	up.Filename = name
	return e.svc.Upload(context.Background(), u, up, bytes.NewReader(data))
}

// blobCount counts the objects kept on disk (sidecars aside).
func (e *env) blobCount() int {
	e.t.Helper()
	n := 0
	for _, id := range e.allKeys() {
		if _, _, err := e.blobs.Get(context.Background(), id); err == nil {
			n++
		}
	}
	return n
}

// allKeys lists the object keys under files/ on disk.
func (e *env) allKeys() []string {
	return walkKeys(e.t, e.dir)
}

func mustObject(t *testing.T, yaml string) config.Object {
	t.Helper()
	f, err := config.ParseFile("librechat.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.FileConfig
}

func walkKeys(t *testing.T, dir string) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
