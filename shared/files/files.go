// Package files is the upload pipeline, independent of HTTP: the limits of
// librechat.yaml's fileConfig, the type of a file by its content (never its
// name or the client's Content-Type), image dimensions, file names, text
// extraction, storage of the bytes (blob.Store) and of the record
// (librechat.FileStore) together, signed URLs for the browser, and the
// model input of attached files (chat.Attachments).
package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
)

// File contexts (LibreChat's FileContext values).
const (
	ContextMessageAttachment = "message_attachment"
	ContextAgents            = "agents"
	ContextAvatar            = "avatar"
)

// DefaultMaxImagePart bounds the bytes of one image given to a model.
const DefaultMaxImagePart = 5 * MB

// Config builds a Service.
type Config struct {
	Blobs blob.Store
	Files librechat.FileStore
	// FileConfig is librechat.yaml's fileConfig (unset: LibreChat's defaults).
	FileConfig config.Object
	// Source is the storage name recorded on files: "local" (default) or "s3".
	Source string
	Clock  librechat.Clock
	IDs    librechat.IDs
	// Signer makes the URLs in File.Filepath answers (required).
	Signer *URLSigner
	// MaxImagePart bounds an image given to a model (<= 0: 5 MB); a larger
	// one is replaced by a note.
	MaxImagePart int64
	// MemLimit and TempDir tune spooling of uploads (see Spool).
	MemLimit int64
	TempDir  string
	Log      *slog.Logger
}

// Service stores, lists, opens and deletes users' files. It is safe for
// concurrent use.
type Service struct {
	blobs    blob.Store
	store    librechat.FileStore
	limits   *Limits
	source   string
	clock    librechat.Clock
	ids      librechat.IDs
	signer   *URLSigner
	maxImage int64
	memLimit int64
	tempDir  string
	log      *slog.Logger
}

// New checks c and builds a Service.
func New(c Config) (*Service, error) {
	if c.Blobs == nil || c.Files == nil || c.Clock == nil || c.IDs == nil || c.Signer == nil {
		return nil, errors.New("files: blob store, file store, clock, ids and signer are required")
	}
	limits, err := ParseLimits(c.FileConfig)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	s := &Service{
		blobs: c.Blobs, store: c.Files, limits: limits, source: c.Source,
		clock: c.Clock, ids: c.IDs, signer: c.Signer, maxImage: c.MaxImagePart,
		memLimit: c.MemLimit, tempDir: c.TempDir, log: c.Log,
	}
	if s.source == "" {
		s.source = "local"
	}
	if s.maxImage <= 0 {
		s.maxImage = DefaultMaxImagePart
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Limits are the merged file limits.
func (s *Service) Limits() *Limits { return s.limits }

// Signer makes and checks file URLs.
func (s *Service) Signer() *URLSigner { return s.signer }

// URL is the signed URL of f's bytes for the browser.
func (s *Service) URL(f *librechat.File) string { return s.signer.URL(f) }

// Upload describes one upload besides its bytes.
type Upload struct {
	// Fields are the form's text fields (file_id, endpoint, endpointType,
	// conversationId, message_file, agent_id, ...).
	Fields map[string]string
	// Filename is the name as sent; DeclaredType the client's
	// Content-Type, used only to notice a claim to be an image.
	Filename, DeclaredType string
	// Image: the upload came to the images route and must be a raster
	// image. Avatar: a profile picture (an image, avatarSizeLimit, no
	// file_id or endpoint needed).
	Image, Avatar bool
}

// Sized is content whose length is known and which can be read more than
// once (a *Spool, a *bytes.Reader, an *os.File section).
type Sized interface {
	io.ReaderAt
	Size() int64
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is a UUID in its usual text form.
func IsUUID(s string) bool { return uuidRe.MatchString(s) }

// Upload checks content against the limits and its type, then stores the
// bytes and the record. The file gets a new id; the client's file_id
// becomes TempFileID. Nothing is kept when any step fails. Errors are
// kinded: KindInvalid (bad fields, empty, an executable, not an image),
// KindTooLarge, KindUnsupportedType, KindForbidden (uploads disabled for
// the endpoint).
func (s *Service) Upload(ctx context.Context, user *librechat.User, up Upload, content io.Reader) (*librechat.File, error) {
	if user == nil || user.ID == "" {
		return nil, librechat.E(librechat.KindUnauthorized, "Unauthorized")
	}
	field := func(k string) string { return strings.TrimSpace(up.Fields[k]) }
	endpoint, endpointType := field("endpoint"), field("endpointType")
	var lim EndpointLimits
	if up.Avatar {
		lim = s.limits.Avatar()
	} else {
		tempID := field("file_id")
		if tempID == "" {
			return nil, librechat.E(librechat.KindInvalid, "No file_id provided")
		}
		if !IsUUID(tempID) {
			return nil, librechat.E(librechat.KindInvalid, "Invalid file_id: it must be a UUID")
		}
		if endpoint == "" {
			return nil, librechat.E(librechat.KindInvalid, "No endpoint provided")
		}
		lim = s.limits.Endpoint(endpoint, endpointType)
		if lim.Disabled {
			return nil, librechat.E(librechat.KindForbidden, "File uploads are disabled for the %s endpoint", endpoint)
		}
	}
	maxSize := min(lim.FileSizeLimit, s.limits.ServerFileSizeLimit)
	tooLarge := func() error {
		what := endpoint + " endpoint"
		if up.Avatar {
			what = "avatar upload"
		}
		return librechat.E(librechat.KindTooLarge, "File size limit of %s MB exceeded for %s", formatMB(maxSize), what)
	}

	data, ok := content.(Sized)
	if !ok {
		sp := NewSpool(maxSize, s.memLimit, s.tempDir)
		defer sp.Close()
		if _, err := sp.ReadFrom(content); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return nil, tooLarge()
			}
			return nil, err
		}
		data = sp
	}
	size := data.Size()
	if size == 0 {
		return nil, librechat.E(librechat.KindInvalid, "Empty file uploaded")
	}
	if size > maxSize {
		return nil, tooLarge()
	}

	name := SanitizeFilename(up.Filename)
	det, err := Sniff(data, size, name)
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, "files.sniff", err)
	}
	if det.Class == ClassExecutable {
		return nil, librechat.E(librechat.KindInvalid, "%s is an executable (%s); executable files are not accepted", quote(name), det.Format)
	}
	imageOnly := up.Image || up.Avatar
	if claimsImage(up.Filename, up.DeclaredType) && !strings.HasPrefix(det.Type, "image/") {
		return nil, librechat.E(librechat.KindInvalid, "%s is not an image: its content is %s", quote(name), describe(det))
	}
	if imageOnly && det.Class != ClassImage {
		return nil, librechat.E(librechat.KindInvalid, "Only PNG, JPEG, GIF and WebP images are accepted here; the content of %s is %s", quote(name), describe(det))
	}
	if !lim.Accepts(det.Type) {
		return nil, librechat.E(librechat.KindUnsupportedType, "Unsupported file type: %s", det.Type)
	}

	var text string
	if IsTextual(det.Type) && !up.Avatar {
		maxChars := s.limits.FileTokenLimit * CharsPerToken
		text, _, err = ExtractText(io.NewSectionReader(data, 0, size), det.Type, maxChars)
		if err != nil {
			return nil, librechat.Wrap(librechat.KindOther, "files.text", err)
		}
	}

	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	f := &librechat.File{
		ID: s.ids.UUID(), ObjectID: s.ids.ObjectID(), UserID: user.ID,
		Filename: name, Source: s.source, Type: det.Type, Bytes: size,
		Width: det.Width, Height: det.Height, Text: text,
		CreatedAt: now, UpdatedAt: now,
	}
	f.StorageKey = StorageKey(user.ID, f.ID)
	f.Filepath = BasePath(f)
	switch {
	case up.Avatar:
		f.Context = ContextAvatar
	case field("message_file") == "true" || field("agent_id") == "":
		f.Context = ContextMessageAttachment
		f.TempFileID = field("file_id")
	default:
		f.Context = ContextAgents
		f.TempFileID = field("file_id")
	}
	if !up.Avatar {
		f.ConversationID = field("conversationId")
	}
	if err := s.save(ctx, f, data); err != nil {
		return nil, err
	}
	return f, nil
}

// save puts the bytes, then the record; if the record fails the bytes
// are removed again.
func (s *Service) save(ctx context.Context, f *librechat.File, data Sized) error {
	if err := s.blobs.Put(ctx, f.StorageKey, io.NewSectionReader(data, 0, f.Bytes), f.Bytes, f.Type); err != nil {
		// A partial object may exist: remove it.
		s.removeBlob(ctx, f.StorageKey)
		return librechat.Wrap(librechat.KindOther, "files.put", err)
	}
	if err := s.store.PutFile(ctx, f); err != nil {
		s.removeBlob(ctx, f.StorageKey)
		return err
	}
	return nil
}

func (s *Service) removeBlob(ctx context.Context, key string) {
	if err := s.blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.log.ErrorContext(ctx, "files: could not remove stored bytes", "key", key, "err", err)
	}
}

// StorageKey is where a file's bytes are kept: built from ids only.
func StorageKey(userID, fileID string) string { return "files/" + userID + "/" + fileID }

func quote(name string) string { return fmt.Sprintf("%q", name) }

func describe(d Detected) string {
	switch d.Class {
	case ClassText:
		return "text (" + d.Type + ")"
	case ClassImage:
		return "an image (" + d.Type + ")"
	}
	if d.Type == "application/octet-stream" {
		return "unrecognised binary data"
	}
	return d.Type
}

// File returns one of the user's files (KindNotFound for another user's).
func (s *Service) File(ctx context.Context, userID, id string) (*librechat.File, error) {
	return s.store.File(ctx, userID, id)
}

// Files lists the user's files, newest first.
func (s *Service) Files(ctx context.Context, userID string) ([]*librechat.File, error) {
	return s.store.Files(ctx, userID)
}

// Open returns one of the user's files and its bytes; the caller closes
// the reader. Another user's file is KindNotFound.
func (s *Service) Open(ctx context.Context, userID, id string) (*librechat.File, io.ReadCloser, *blob.Info, error) {
	f, err := s.store.File(ctx, userID, id)
	if err != nil {
		return nil, nil, nil, err
	}
	rc, info, err := s.blobs.Get(ctx, f.StorageKey)
	if err != nil {
		return nil, nil, nil, err
	}
	return f, rc, info, nil
}

// DirectURL is a short-lived URL that downloads f straight from the blob
// store, or "" when the store has none.
func (s *Service) DirectURL(ctx context.Context, f *librechat.File, ttl time.Duration) (string, error) {
	return s.blobs.URL(ctx, f.StorageKey, ttl, f.Filename)
}

// Delete removes the listed files of the user: the record first, then the
// bytes. Ids the user does not own (absent, or another user's) are
// skipped silently; the ids deleted are returned.
func (s *Service) Delete(ctx context.Context, userID string, ids []string) ([]string, error) {
	var done []string
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		f, err := s.store.File(ctx, userID, id)
		if librechat.IsNotFound(err) {
			continue
		}
		if err != nil {
			return done, err
		}
		if err := s.store.DeleteFile(ctx, userID, id); err != nil {
			if librechat.IsNotFound(err) {
				continue
			}
			return done, err
		}
		s.removeBlob(ctx, f.StorageKey)
		done = append(done, id)
	}
	return done, nil
}

// Parts implements chat.Attachments: for each {file_id} of files the user
// owns, an image part (raster images, at most MaxImagePart bytes) or a
// text part "[Attached file: name]\n<text>" (documents with extracted
// text). Other files, unknown ids and other users' ids are left out.
func (s *Service) Parts(ctx context.Context, userID string, files json.RawMessage) ([]provider.Part, error) {
	var refs []struct {
		FileID string `json:"file_id"`
	}
	if len(files) == 0 || json.Unmarshal(files, &refs) != nil {
		return nil, nil
	}
	var parts []provider.Part
	seen := map[string]bool{}
	for _, ref := range refs {
		if ref.FileID == "" || seen[ref.FileID] {
			continue
		}
		seen[ref.FileID] = true
		f, err := s.store.File(ctx, userID, ref.FileID)
		if librechat.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		switch {
		case IsRaster(f.Type) && f.Context != ContextAvatar:
			p, err := s.imagePart(ctx, f)
			if err != nil {
				return nil, err
			}
			if p != nil {
				parts = append(parts, *p)
			}
		case f.Text != "":
			parts = append(parts, provider.Part{Type: provider.PartText, Text: "[Attached file: " + f.Filename + "]\n" + f.Text})
		}
	}
	return parts, nil
}

func (s *Service) imagePart(ctx context.Context, f *librechat.File) (*provider.Part, error) {
	tooBig := &provider.Part{Type: provider.PartText, Text: fmt.Sprintf("[Attached image %s omitted: larger than %s MB]", f.Filename, formatMB(s.maxImage))}
	if f.Bytes > s.maxImage {
		return tooBig, nil
	}
	rc, _, err := s.blobs.Get(ctx, f.StorageKey)
	if librechat.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, s.maxImage+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > s.maxImage {
		return tooBig, nil
	}
	return &provider.Part{Type: provider.PartImage, MIME: f.Type, Data: data}, nil
}
