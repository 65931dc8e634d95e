package files

import (
	"bytes"
	"errors"
	"io"
	"os"

	"github.com/lcgo/lcgo/shared/librechat"
)

// DefaultMemoryLimit is how much of an upload a Spool keeps in memory
// before it moves to a temporary file.
const DefaultMemoryLimit = 8 << 20

// ErrTooLarge is returned by Spool.ReadFrom when the content is over the
// limit; it is a KindTooLarge error.
var ErrTooLarge = librechat.E(librechat.KindTooLarge, "File is too large")

// Spool holds an upload's bytes while it is checked: in memory up to a
// threshold, then in a temporary file. It is an io.ReaderAt of known Size.
// Close removes the temporary file.
type Spool struct {
	mem   bytes.Buffer
	file  *os.File
	size  int64
	limit int64 // most bytes accepted
	inMem int64 // bytes kept in memory before spilling
	dir   string
}

// NewSpool returns an empty spool accepting at most limit bytes, spilling
// to a temporary file in dir ("" for the system's) past memLimit bytes
// (<= 0: DefaultMemoryLimit).
func NewSpool(limit, memLimit int64, dir string) *Spool {
	if memLimit <= 0 {
		memLimit = DefaultMemoryLimit
	}
	return &Spool{limit: limit, inMem: memLimit, dir: dir}
}

// ReadFrom copies r into the spool. Past the limit it stops with
// ErrTooLarge (the spool then holds a prefix and must be discarded).
func (s *Spool) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if s.size+int64(n) > s.limit {
				return total, ErrTooLarge
			}
			if werr := s.write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (s *Spool) write(p []byte) error {
	if s.file == nil && s.size+int64(len(p)) > s.inMem {
		f, err := os.CreateTemp(s.dir, "lcgo-upload-*")
		if err != nil {
			return librechat.Wrap(librechat.KindOther, "files.spool", err)
		}
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			os.Remove(f.Name())
			return librechat.Wrap(librechat.KindOther, "files.spool", err)
		}
		s.file = f
		s.mem = bytes.Buffer{}
	}
	if s.file != nil {
		if _, err := s.file.Write(p); err != nil {
			return librechat.Wrap(librechat.KindOther, "files.spool", err)
		}
	} else {
		s.mem.Write(p)
	}
	s.size += int64(len(p))
	return nil
}

// Size is the number of bytes held.
func (s *Spool) Size() int64 { return s.size }

// ReadAt implements io.ReaderAt.
func (s *Spool) ReadAt(p []byte, off int64) (int, error) {
	if s.file != nil {
		return s.file.ReadAt(p, off)
	}
	return bytes.NewReader(s.mem.Bytes()).ReadAt(p, off)
}

// Reader returns a reader of the whole content from the start; it is
// also Sized.
func (s *Spool) Reader() *io.SectionReader { return io.NewSectionReader(s, 0, s.size) }

// Close releases the spool and removes its temporary file.
func (s *Spool) Close() error {
	s.mem = bytes.Buffer{}
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	s.file = nil
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	return err
}
