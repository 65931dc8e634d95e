// Package blob declares the storage of file bytes (uploads, avatars):
// local disk for the runner, S3 and S3-compatible stores (Cloudflare R2)
// in the cloud. Every implementation passes the suite in blob/blobtest.
package blob

import (
	"context"
	"io"
	"time"
)

// Info describes a stored object.
type Info struct {
	Size        int64
	ContentType string
	ModTime     time.Time
}

// Store keeps objects by key. Keys are slash-separated paths made by the
// caller from ids it controls (never from user-supplied names).
type Store interface {
	// Put stores size bytes from r under key, replacing any object there.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the object; a missing key is a librechat KindNotFound error.
	Get(ctx context.Context, key string) (io.ReadCloser, *Info, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL returns a short-lived URL that downloads the object directly
	// (with filename as its attachment name when not empty), or "" when the
	// store has none and the API must stream the bytes itself.
	URL(ctx context.Context, key string, ttl time.Duration, filename string) (string, error)
}
