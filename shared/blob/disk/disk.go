// Package disk keeps blobs in a local directory: the default store of the
// local runner (DATA_DIR/uploads).
//
// Layout: the object under key "a/b/c" is the file <dir>/a/b/c holding
// exactly its bytes, so the directory can be browsed, backed up and copied
// with ordinary tools. Its content type is kept beside it in the sidecar
// <dir>/a/b/.meta/c (a small JSON document, in a hidden directory so that a
// name of the longest length still fits); a file without a sidecar (one
// copied in by hand) gets the type registered for its extension, or
// application/octet-stream. Writes go to a hidden temporary file in the same
// directory that is synced and then renamed over the object, so a reader
// sees the old bytes or the new ones, never a mix; the sidecar is renamed
// into place right after the object. Because blob.CheckKey refuses key
// segments that start with a dot, neither sidecars nor temporary files can
// collide with a key.
//
// Every path is resolved through os.Root, so even a symbolic link planted
// inside the directory cannot lead a key outside it. Directories are made as
// needed (mode 0700, files 0600), the store's own directory too should it
// be removed, and are not removed when they empty.
//
// A file system cannot hold both "a" and "a/b": a Put that would need one
// where the other is returns a librechat KindConflict error.
//
// URL always returns "": the API streams the bytes itself.
package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/librechat"
)

// DefaultContentType is reported for an object stored without a type.
const DefaultContentType = "application/octet-stream"

const (
	dirMode  = 0o700
	fileMode = 0o600
	metaDir  = ".meta"
	tmpStart = ".tmp-"
)

// Store is a blob.Store over one directory. It is safe for concurrent use,
// also by several processes sharing the directory.
type Store struct {
	dir string
}

var _ blob.Store = (*Store)(nil)

// New returns a store rooted at dir, creating the directory if needed.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("disk: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("disk: %s is not a directory", abs)
	}
	return &Store{dir: abs}, nil
}

// Dir is the absolute path of the store's directory.
func (s *Store) Dir() string { return s.dir }

type meta struct {
	ContentType string `json:"contentType"`
}

// resolve checks key and returns its path relative to the root, in the
// operating system's form.
func (s *Store) resolve(op, key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	rel := filepath.FromSlash(key)
	if !filepath.IsLocal(rel) {
		return "", invalid(op, key)
	}
	// Belt and braces: the joined path must still be inside the root.
	full := filepath.Join(s.dir, rel)
	back, err := filepath.Rel(s.dir, full)
	if err != nil || back != rel || !filepath.IsLocal(back) {
		return "", invalid(op, key)
	}
	return rel, nil
}

func invalid(op, key string) error {
	e := librechat.E(librechat.KindInvalid, "the key %q is not a safe relative path", key)
	e.Op = op
	return e
}

func metaPath(rel string) string {
	dir, name := filepath.Split(rel)
	return filepath.Join(dir, metaDir, name)
}

// openRoot opens the store's directory; with create, it makes it again
// when it was removed.
func (s *Store) openRoot(op string, create bool) (*os.Root, error) {
	r, err := os.OpenRoot(s.dir)
	if err != nil && create && errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(s.dir, dirMode); err == nil {
			r, err = os.OpenRoot(s.dir)
		}
	}
	if err != nil {
		return nil, librechat.Wrap(librechat.KindUnavailable, op, err)
	}
	return r, nil
}

// Put writes the object through a temporary file renamed into place. When
// ctx ends first it returns at once, even if r is blocked in Read, and
// stores nothing; the read then finishes on its own when r returns.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	const op = "disk.Put"
	rel, err := s.resolve(op, key)
	if err != nil {
		return err
	}
	if size < 0 {
		return &librechat.Error{Kind: librechat.KindInvalid, Op: op, Message: "the size is negative", Err: blob.ErrSize}
	}
	if err := ctx.Err(); err != nil {
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	if contentType == "" {
		contentType = DefaultContentType
	}
	root, err := s.openRoot(op, true)
	if err != nil {
		return err
	}
	defer root.Close()

	if err := root.MkdirAll(filepath.Dir(metaPath(rel)), dirMode); err != nil {
		return fsError(op, key, err)
	}

	tmp, f, err := createTemp(root, filepath.Dir(rel))
	if err != nil {
		return fsError(op, key, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			_ = root.Remove(tmp)
		}
	}()

	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(f, blob.ExactReader(r, size))
		if err == nil {
			err = f.Sync()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			if librechat.KindOf(err) != librechat.KindOther {
				return err
			}
			return librechat.Wrap(librechat.KindOther, op, err)
		}
	case <-ctx.Done():
		return librechat.Wrap(librechat.KindOther, op, ctx.Err())
	}
	if err := f.Close(); err != nil {
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	if err := ctx.Err(); err != nil {
		return librechat.Wrap(librechat.KindOther, op, err)
	}

	// The sidecar is written first and renamed right after the object, so
	// the two change together but for a moment.
	mb, _ := json.Marshal(meta{ContentType: contentType})
	mtmp, err := writeTemp(root, filepath.Dir(metaPath(rel)), mb)
	if err != nil {
		return fsError(op, key, err)
	}
	if err := root.Rename(tmp, rel); err != nil {
		_ = root.Remove(mtmp)
		return fsError(op, key, err)
	}
	committed = true
	if err := root.Rename(mtmp, metaPath(rel)); err != nil {
		_ = root.Remove(mtmp)
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	return nil
}

// createTemp makes a new hidden file in dir (relative to root).
func createTemp(root *os.Root, dir string) (string, *os.File, error) {
	for range 10 {
		var b [12]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, tmpStart+hex.EncodeToString(b[:]))
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, f, err
	}
	return "", nil, errors.New("disk: could not create a temporary file")
}

// writeTemp writes data to a new synced temporary file in dir and returns
// its name.
func writeTemp(root *os.Root, dir string, data []byte) (string, error) {
	tmp, f, err := createTemp(root, dir)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// Get opens the object. The caller closes the returned reader.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, *blob.Info, error) {
	const op = "disk.Get"
	rel, err := s.resolve(op, key)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	root, err := s.openRoot(op, false)
	if err != nil {
		if _, serr := os.Stat(s.dir); errors.Is(serr, fs.ErrNotExist) {
			return nil, nil, notFound(op, key)
		}
		return nil, nil, err
	}
	defer root.Close()

	f, err := root.Open(rel)
	if err != nil {
		return nil, nil, getError(op, key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, notFound(op, key)
	}
	info := &blob.Info{Size: st.Size(), ModTime: st.ModTime(), ContentType: s.contentType(root, rel)}
	return f, info, nil
}

func (s *Store) contentType(root *os.Root, rel string) string {
	if b, err := root.ReadFile(metaPath(rel)); err == nil {
		var m meta
		if json.Unmarshal(b, &m) == nil && m.ContentType != "" {
			return m.ContentType
		}
	}
	if t := mime.TypeByExtension(path.Ext(filepath.ToSlash(rel))); t != "" {
		return t
	}
	return DefaultContentType
}

// Delete removes the object and its sidecar. A missing key, or a key that
// names a directory of other objects, is not an error and removes nothing.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "disk.Delete"
	rel, err := s.resolve(op, key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	root, err := s.openRoot(op, false)
	if err != nil {
		if _, serr := os.Stat(s.dir); errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer root.Close()

	st, err := root.Lstat(rel)
	switch {
	case err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)):
		// Nothing there; a stale sidecar may remain.
	case err != nil:
		return librechat.Wrap(librechat.KindOther, op, err)
	case st.IsDir():
		return nil
	default:
		if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return librechat.Wrap(librechat.KindOther, op, err)
		}
	}
	if err := root.Remove(metaPath(rel)); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	return nil
}

// URL returns "": a local directory has no download URL of its own.
func (s *Store) URL(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	if _, err := s.resolve("disk.URL", key); err != nil {
		return "", err
	}
	return "", nil
}

func notFound(op, key string) error {
	e := librechat.E(librechat.KindNotFound, "no object %q", key)
	e.Op = op
	return e
}

func getError(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return notFound(op, key)
	}
	return librechat.Wrap(librechat.KindOther, op, err)
}

// fsError classifies a failed write: a file where a directory is needed (or
// the reverse) is a conflict between keys.
func fsError(op, key string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, fs.ErrExist) {
		e := librechat.E(librechat.KindConflict, "the key %q conflicts with another object's path", key)
		e.Op, e.Err = op, err
		return e
	}
	return librechat.Wrap(librechat.KindOther, op, err)
}
