package blob

import (
	"errors"
	"io"

	"github.com/lcgo/lcgo/shared/librechat"
)

// ErrSize is the cause of the error a Put returns when its reader holds
// fewer or more bytes than the size it was given. The error is of kind
// librechat.KindInvalid and nothing is stored.
var ErrSize = errors.New("blob: body length differs from the declared size")

// ExactReader reads exactly size bytes from r and then reports io.EOF. When r
// ends early it reports an error wrapping ErrSize instead of io.EOF. When r
// holds more than size bytes, the read that would deliver the last byte
// returns no data and an error wrapping ErrSize instead, so a consumer that
// forwards the bytes (an HTTP request body with a Content-Length) never sends
// a complete body for an oversized input. A negative size is an error on the
// first read. Errors from r itself pass through unchanged.
func ExactReader(r io.Reader, size int64) io.Reader {
	return &exactReader{r: r, left: size}
}

type exactReader struct {
	r    io.Reader
	left int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left < 0 {
		e.err = sizeError("the declared size is negative")
		return 0, e.err
	}
	if e.left == 0 {
		if err := e.probe(); err != nil {
			e.err = err
			return 0, err
		}
		e.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		e.err = sizeError("the body is shorter than its declared size")
		return n, e.err
	case err != nil && err != io.EOF:
		e.err = err
		return n, err
	case e.left == 0:
		if perr := e.probe(); perr != nil {
			// Withhold the final bytes: the body must not look complete.
			e.err = perr
			return 0, perr
		}
		e.err = io.EOF
		return n, nil
	}
	return n, nil
}

// probe reads past the declared end: it must find io.EOF.
func (e *exactReader) probe() error {
	var b [1]byte
	for range 100 {
		n, err := e.r.Read(b[:])
		if n > 0 {
			return sizeError("the body is longer than its declared size")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func sizeError(msg string) error {
	return &librechat.Error{Kind: librechat.KindInvalid, Op: "blob.Put", Message: msg, Err: ErrSize}
}
