package disk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/blob/blobtest"
	"github.com/lcgo/lcgo/shared/blob/disk"
	"github.com/lcgo/lcgo/shared/librechat"
)

// tree lists every path under dir (slash-separated, relative), with the
// contents of regular files.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			out[rel] = "symlink"
		case d.IsDir():
			out[rel+"/"] = ""
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var traversalKeys = []string{
	"../secret",
	"../../secret",
	"../outside/file",
	"a/../../secret",
	"a/b/../../../secret",
	"./../secret",
	"/etc/passwd",
	"//server/share/file",
	`..\secret`,
	`a\..\..\secret`,
	`C:\Windows\evil`,
	"C:evil",
	"a/\x00/../secret",
	"..%2fsecret/..",
	"a/../b",
	"...",
	"a/..../b/.",
}

func TestTraversalRejected(t *testing.T) {
	parent := t.TempDir()
	rootDir := filepath.Join(parent, "uploads")
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("do not touch"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(parent, "outside"), 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := disk.New(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, parent)
	ctx := context.Background()
	keys := append(slices.Clone(traversalKeys), blobtest.InvalidKeys...)
	for _, key := range keys {
		err := st.Put(ctx, key, strings.NewReader("evil"), 4, "text/plain")
		if librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("Put(%q) = %v, want kind invalid", key, err)
		}
		rc, _, err := st.Get(ctx, key)
		if rc != nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%q) read %q", key, data)
		}
		if librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("Get(%q) = %v, want kind invalid", key, err)
		}
		if err := st.Delete(ctx, key); librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("Delete(%q) = %v, want kind invalid", key, err)
		}
	}
	if after := tree(t, parent); !equalTrees(before, after) {
		t.Errorf("the file system changed:\nbefore %v\nafter  %v", before, after)
	}
	if b, _ := os.ReadFile(secret); string(b) != "do not touch" {
		t.Errorf("secret = %q", b)
	}
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A symbolic link inside the directory cannot lead outside it.
func TestSymlinkEscape(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "x"), []byte("outside secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	rootDir := filepath.Join(parent, "uploads")
	st, err := disk.New(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(rootDir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "x"), filepath.Join(rootDir, "filelink")); err != nil {
		t.Fatal(err)
	}
	before := tree(t, parent)
	ctx := context.Background()

	if err := st.Put(ctx, "link/new", strings.NewReader("evil"), 4, "text/plain"); err == nil {
		t.Error("Put through a symbolic link to the outside succeeded")
	}
	if err := st.Put(ctx, "link/x", strings.NewReader("evil"), 4, "text/plain"); err == nil {
		t.Error("Put over a file outside succeeded")
	}
	for _, key := range []string{"link/x", "filelink"} {
		rc, _, err := st.Get(ctx, key)
		if err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%q) read %q from outside the directory", key, data)
		}
	}
	_ = st.Delete(ctx, "link/x")
	if after := tree(t, parent); !equalTrees(before, after) {
		t.Errorf("the file system changed:\nbefore %v\nafter  %v", before, after)
	}
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	st, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Put(ctx, "u1/f1/report.txt", strings.NewReader("bytes"), 5, "text/plain; charset=utf-8"); err != nil {
		t.Fatal(err)
	}
	got := tree(t, dir)
	want := map[string]string{
		"u1/":                    "",
		"u1/f1/":                 "",
		"u1/f1/report.txt":       "bytes",
		"u1/f1/.meta/":           "",
		"u1/f1/.meta/report.txt": `{"contentType":"text/plain; charset=utf-8"}`,
	}
	if !equalTrees(got, want) {
		t.Errorf("tree = %v, want %v", got, want)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(got["u1/f1/.meta/report.txt"]), &m); err != nil || m["contentType"] != "text/plain; charset=utf-8" {
		t.Errorf("sidecar = %v (%v)", m, err)
	}

	// Failed and canceled writes leave no temporary files behind.
	_ = st.Put(ctx, "u1/f1/short", strings.NewReader("abc"), 10, "text/plain")
	_ = st.Put(ctx, "u1/f1/long", strings.NewReader("abcdef"), 3, "text/plain")
	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- st.Put(cctx, "u1/f1/canceled", pr, 100, "text/plain") }()
	if _, err := pw.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Put = %v", err)
	}
	pw.CloseWithError(errors.New("gone"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = tree(t, dir)
		if equalTrees(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !equalTrees(got, want) {
		t.Errorf("after failed writes the tree = %v, want %v", got, want)
	}

	// Delete removes the object and its sidecar.
	if err := st.Delete(ctx, "u1/f1/report.txt"); err != nil {
		t.Fatal(err)
	}
	for p := range tree(t, dir) {
		if !strings.HasSuffix(p, "/") {
			t.Errorf("%s is left after Delete", p)
		}
	}
}

func TestConflictingKeys(t *testing.T) {
	st, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Put(ctx, "a", strings.NewReader("file"), 4, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "a/b", strings.NewReader("x"), 1, ""); librechat.KindOf(err) != librechat.KindConflict {
		t.Errorf("Put(a/b) over the file a = %v, want kind conflict", err)
	}
	if err := st.Put(ctx, "x/y", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "x", strings.NewReader("x"), 1, ""); librechat.KindOf(err) != librechat.KindConflict {
		t.Errorf("Put(x) over the directory x = %v, want kind conflict", err)
	}
	if _, _, err := st.Get(ctx, "a/b"); !librechat.IsNotFound(err) {
		t.Errorf("Get(a/b) under a file = %v, want not found", err)
	}
	rc, _, err := st.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "file" {
		t.Errorf("a = %q", b)
	}
}

func TestTypeWithoutSidecar(t *testing.T) {
	dir := t.TempDir()
	st, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "hand"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"photo.png": "image/png", "noext": disk.DefaultContentType} {
		if err := os.WriteFile(filepath.Join(dir, "hand", name), []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
		rc, info, err := st.Get(context.Background(), "hand/"+name)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if info.ContentType != want || info.Size != 4 {
			t.Errorf("%s: %+v, want type %s", name, info, want)
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := disk.New(file); err == nil {
		t.Error("New on a file succeeded")
	}
	if _, err := disk.New(""); err == nil {
		t.Error("New with no directory succeeded")
	}
	st, err := disk.New(filepath.Join(dir, "a", "b", "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(st.Dir()) {
		t.Errorf("Dir() = %q, want an absolute path", st.Dir())
	}
	if u, err := st.URL(context.Background(), "k", time.Minute, "k.txt"); u != "" || err != nil {
		t.Errorf("URL = %q, %v; want \"\", nil", u, err)
	}
	// The store keeps working when its directory is removed.
	if err := os.RemoveAll(st.Dir()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := st.Get(ctx, "k"); !librechat.IsNotFound(err) {
		t.Errorf("Get without the directory = %v, want not found", err)
	}
	if err := st.Delete(ctx, "k"); err != nil {
		t.Errorf("Delete without the directory = %v", err)
	}
	if err := st.Put(ctx, "k", bytes.NewReader([]byte("v")), 1, ""); err != nil {
		t.Fatal(err)
	}
	rc, _, err := st.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}
