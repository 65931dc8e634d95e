package files

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Form is a multipart upload read in full: its text fields and its one
// file part.
type Form struct {
	Fields map[string]string
	// Filename is the file part's name as sent (not yet sanitized);
	// DeclaredType is the part's Content-Type (never trusted).
	Filename, DeclaredType string
	// File is nil when the form had no file part.
	File *Spool
}

// Close releases the spooled file.
func (f *Form) Close() error {
	if f == nil || f.File == nil {
		return nil
	}
	return f.File.Close()
}

// FormLimits bound what ReadForm accepts.
type FormLimits struct {
	MaxFile    int64 // bytes of the file part
	MaxField   int64 // bytes of each text field (<= 0: 64 KiB)
	MaxParts   int   // parts in all (<= 0: 100)
	MemLimit   int64 // file bytes kept in memory before a temporary file (<= 0: DefaultMemoryLimit)
	TempDir    string
	TooLargeMB string // how the file limit is named in the error ("512 MB")
}

// ReadForm reads every part of mr. The part named fileField is the file
// (at most one); other file parts are refused; text fields are kept by
// name (the last value wins). On error nothing is kept.
func ReadForm(mr *multipart.Reader, fileField string, lim FormLimits) (form *Form, err error) {
	if lim.MaxField <= 0 {
		lim.MaxField = 64 << 10
	}
	if lim.MaxParts <= 0 {
		lim.MaxParts = 100
	}
	form = &Form{Fields: map[string]string{}}
	defer func() {
		if err != nil {
			form.Close()
			form = nil
		}
	}()
	for parts := 0; ; parts++ {
		p, perr := mr.NextPart()
		if errors.Is(perr, io.EOF) {
			return form, nil
		}
		if perr != nil {
			return form, bodyError(perr, "Malformed multipart body", lim)
		}
		if parts >= lim.MaxParts {
			p.Close()
			return form, librechat.E(librechat.KindInvalid, "Too many form fields")
		}
		name := p.FormName()
		if p.FileName() != "" || name == fileField {
			if name != fileField {
				p.Close()
				return form, librechat.E(librechat.KindInvalid, "Unexpected file field %q", name)
			}
			if form.File != nil {
				p.Close()
				return form, librechat.E(librechat.KindInvalid, "Only one file may be uploaded at a time")
			}
			if p.FileName() == "" {
				p.Close()
				return form, librechat.E(librechat.KindInvalid, "No file provided")
			}
			form.Filename = rawFilename(p)
			form.DeclaredType = p.Header.Get("Content-Type")
			sp := NewSpool(lim.MaxFile, lim.MemLimit, lim.TempDir)
			form.File = sp
			if _, err := sp.ReadFrom(p); err != nil {
				p.Close()
				return form, bodyError(err, "Could not read the uploaded file", lim)
			}
			p.Close()
			continue
		}
		b, rerr := io.ReadAll(io.LimitReader(p, lim.MaxField+1))
		p.Close()
		if rerr != nil {
			return form, bodyError(rerr, "Malformed multipart body", lim)
		}
		if int64(len(b)) > lim.MaxField {
			return form, librechat.E(librechat.KindInvalid, "Form field %q is too long", name)
		}
		form.Fields[name] = string(b)
	}
}

// rawFilename is the filename parameter as sent. Part.FileName already
// drops a leading path with forward slashes; SanitizeFilename does the
// rest.
func rawFilename(p *multipart.Part) string {
	return p.FileName()
}

func bodyError(err error, msg string, lim FormLimits) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, ErrTooLarge):
		if lim.TooLargeMB != "" {
			return librechat.E(librechat.KindTooLarge, "File size limit of %s exceeded", lim.TooLargeMB)
		}
		return librechat.E(librechat.KindTooLarge, "File is too large")
	case errors.As(err, new(*librechat.Error)):
		return err
	}
	return &librechat.Error{Kind: librechat.KindInvalid, Op: "files.form", Message: msg, Err: err}
}
