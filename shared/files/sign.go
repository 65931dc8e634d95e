package files

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Where the bytes of a file are served. Browsers load a message's images
// with <img src=filepath>, which carries no Authorization header, so these
// URLs authenticate themselves: ?exp=<unix seconds>&sig=<HMAC>.
const (
	ImagesPath  = "/api/files/images/"  // raster images and avatars, served inline
	UploadsPath = "/api/files/uploads/" // every other file, served as an attachment
)

// DefaultURLTTL is how long a signed file URL stays valid.
const DefaultURLTTL = 24 * time.Hour

// Errors of Verify.
var (
	ErrBadSignature = librechat.E(librechat.KindForbidden, "Invalid file link")
	ErrExpired      = librechat.E(librechat.KindForbidden, "This file link has expired")
)

// URLSigner makes and checks the self-authenticating URLs of files. A
// signature covers the owner's user id, the file id and the expiry, under
// a key derived from the server's secret; it does not depend on the path
// prefix. Avatars are signed without expiry (they are stored on the user
// record and shown to everyone who sees the user, like LibreChat's public
// /images/ URLs).
type URLSigner struct {
	key   []byte
	clock librechat.Clock
	ttl   time.Duration
}

// NewURLSigner derives the signing key from secret (CREDS_KEY, or the JWT
// secret). ttl <= 0 is DefaultURLTTL.
func NewURLSigner(secret string, clock librechat.Clock, ttl time.Duration) *URLSigner {
	if ttl <= 0 {
		ttl = DefaultURLTTL
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("lcgo files: signed file URLs v1"))
	return &URLSigner{key: m.Sum(nil), clock: clock, ttl: ttl}
}

// TTL is the lifetime of the URLs the signer makes.
func (s *URLSigner) TTL() time.Duration { return s.ttl }

func (s *URLSigner) now() time.Time {
	if s.clock != nil {
		return s.clock.Now()
	}
	return time.Now()
}

func (s *URLSigner) mac(userID, fileID string, exp int64) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(fileID))
	m.Write([]byte{0})
	m.Write([]byte(strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

// BasePath is the unsigned path of a file's bytes.
func BasePath(f *librechat.File) string {
	prefix := UploadsPath
	if IsRaster(f.Type) {
		prefix = ImagesPath
	}
	return prefix + url.PathEscape(f.UserID) + "/" + url.PathEscape(f.ID)
}

// URL returns f's signed URL: valid for the signer's TTL, or for ever when
// f is an avatar.
func (s *URLSigner) URL(f *librechat.File) string {
	if f.Context == ContextAvatar {
		return s.sign(BasePath(f), f.UserID, f.ID, 0)
	}
	return s.sign(BasePath(f), f.UserID, f.ID, s.now().Add(s.ttl).Unix())
}

// URLFor returns f's signed URL valid for ttl (avatars too).
func (s *URLSigner) URLFor(f *librechat.File, ttl time.Duration) string {
	return s.sign(BasePath(f), f.UserID, f.ID, s.now().Add(ttl).Unix())
}

func (s *URLSigner) sign(base, userID, fileID string, exp int64) string {
	sig := base64.RawURLEncoding.EncodeToString(s.mac(userID, fileID, exp))
	if exp == 0 {
		return base + "?sig=" + sig
	}
	return base + "?exp=" + strconv.FormatInt(exp, 10) + "&sig=" + sig
}

// Verify checks the exp and sig query values of a URL for the file
// (userID, fileID): ErrBadSignature when they were not made by this signer
// for that file, ErrExpired when they were but are past their time.
func (s *URLSigner) Verify(userID, fileID, exp, sig string) error {
	var e int64
	if exp != "" {
		n, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || n <= 0 {
			return ErrBadSignature
		}
		e = n
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(userID, fileID, e)) {
		return ErrBadSignature
	}
	if e != 0 && s.now().Unix() >= e {
		return ErrExpired
	}
	return nil
}

// ParsePath splits a file URL's path into its owner and file id; ok is
// false for any other path.
func ParsePath(p string) (userID, fileID string, image, ok bool) {
	rest, found := strings.CutPrefix(p, ImagesPath)
	image = found
	if !found {
		if rest, found = strings.CutPrefix(p, UploadsPath); !found {
			return "", "", false, false
		}
	}
	u, f, found := strings.Cut(rest, "/")
	if !found || u == "" || f == "" || strings.Contains(f, "/") {
		return "", "", false, false
	}
	uu, err1 := url.PathUnescape(u)
	ff, err2 := url.PathUnescape(f)
	if err1 != nil || err2 != nil {
		return "", "", false, false
	}
	return uu, ff, image, true
}

// Renew returns filepath with a fresh expiry when it is an expiring
// signed URL of one of userID's files, and filepath unchanged otherwise
// (other users' URLs, avatars, anything else). A message keeps the URL it
// was sent with, so whoever serves stored messages renews them (as
// LibreChat renews S3 links).
func (s *URLSigner) Renew(userID, filepath string) string {
	u, err := url.Parse(filepath)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return filepath
	}
	owner, fileID, _, ok := ParsePath(u.EscapedPath())
	if !ok || owner != userID || u.Query().Get("exp") == "" {
		return filepath
	}
	return s.sign(u.EscapedPath(), owner, fileID, s.now().Add(s.ttl).Unix())
}

// RenewFiles renews the filepath of every entry of a message's files
// array (see Renew), keeping everything else byte for byte. Input that is
// not an array of objects is returned unchanged.
func (s *URLSigner) RenewFiles(userID string, files json.RawMessage) json.RawMessage {
	var items []json.RawMessage
	if err := json.Unmarshal(files, &items); err != nil {
		return files
	}
	changed := false
	for i, item := range items {
		if out, ok := s.renewObject(userID, item); ok {
			items[i], changed = out, true
		}
	}
	if !changed {
		return files
	}
	out, err := marshal(items)
	if err != nil {
		return files
	}
	return out
}

// marshal encodes v as JSON leaving <, > and & as they are (the URLs
// carry &).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (s *URLSigner) renewObject(userID string, obj json.RawMessage) (json.RawMessage, bool) {
	var probe struct {
		Filepath string `json:"filepath"`
	}
	if t := bytes.TrimSpace(obj); len(t) == 0 || t[0] != '{' || json.Unmarshal(obj, &probe) != nil || probe.Filepath == "" {
		return nil, false
	}
	fresh := s.Renew(userID, probe.Filepath)
	if fresh == probe.Filepath {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for n := 0; dec.More(); n++ {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		if key == "filepath" {
			raw, _ = marshal(fresh)
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(key)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(raw)
	}
	buf.WriteByte('}')
	return buf.Bytes(), true
}

// SignerFor is the URL signer of a configuration: keyed by CREDS_KEY, or
// the JWT secret when that is unset (ttl 0: 24 hours). Every area that
// serves stored messages renews their file links with it.
func SignerFor(cfg *config.Config, clock librechat.Clock, ttl time.Duration) (*URLSigner, error) {
	if cfg == nil {
		return nil, errors.New("files: configuration is required")
	}
	secret := cfg.CredsKey
	if secret == "" {
		secret = cfg.Auth.JWTSecret
	}
	if secret == "" {
		return nil, errors.New("files: CREDS_KEY or JWT_SECRET is required to sign file URLs")
	}
	return NewURLSigner(secret, clock, ttl), nil
}
