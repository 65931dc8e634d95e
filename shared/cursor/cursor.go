// Package cursor makes the opaque pagination cursors the API hands out and
// checks the ones it is given back. A cursor is
//
//	base64url(JSON position) "." base64url(MAC)
//
// where MAC is HMAC-SHA256, truncated to 16 bytes, over the list kind, the
// id of the user the cursor was issued to and the JSON, each preceded by its
// length. A cursor is therefore only accepted for the same list and the same
// user; one that was altered, made up, or issued to someone else is refused
// with a KindInvalid error before its JSON is read.
//
// The MAC key is derived from a secret (JWT_SECRET) with HMAC-SHA256 over a
// fixed label, so the secret itself never keys a cursor MAC. Cursors carry
// no expiry: a position is only useful for as long as the list still has it.
package cursor

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"

	"github.com/lcgo/lcgo/shared/librechat"
)

// MaxLen is the longest cursor Encode makes and Decode reads: room for a
// sort key of a 1024-character title, and about as long as a URL a proxy
// passes.
const MaxLen = 8 << 10

// Message is what a refused cursor tells the client.
const Message = "Invalid cursor"

const (
	keyLabel = "lcgo cursor: signed pagination cursors v1"
	macLen   = 16
	sep      = "."
)

// enc is unpadded base64url that refuses non-zero trailing bits: one
// spelling per byte string, so no character of a cursor can change without
// the cursor being refused.
func enc() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// Codec signs and checks cursors with one key. It is safe for concurrent
// use.
type Codec struct {
	key []byte
}

// New derives a Codec from secret. An empty secret gets a random key: the
// cursors then work within this process only.
func New(secret []byte) *Codec {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(keyLabel))
	return &Codec{key: m.Sum(nil)}
}

// FromSecrets is New with the first non-empty secret (for an area: the JWT
// secret, else CREDS_KEY); none gives a random key.
func FromSecrets(secrets ...string) *Codec {
	for _, s := range secrets {
		if s != "" {
			return New([]byte(s))
		}
	}
	return New(nil)
}

// Encode makes the cursor of v (marshalled as JSON) for a list kind and
// the user it is issued to.
func (c *Codec) Encode(kind, userID string, v any) (string, error) {
	if kind == "" || userID == "" {
		return "", librechat.Wrap(librechat.KindOther, "cursor.Encode", errors.New("kind and user id are required"))
	}
	var buf bytes.Buffer
	je := json.NewEncoder(&buf)
	je.SetEscapeHTML(false)
	if err := je.Encode(v); err != nil {
		return "", librechat.Wrap(librechat.KindOther, "cursor.Encode", err)
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	s := enc().EncodeToString(payload) + sep + enc().EncodeToString(c.mac(kind, userID, payload))
	if len(s) > MaxLen {
		return "", librechat.Wrap(librechat.KindOther, "cursor.Encode", errors.New("cursor is too long"))
	}
	return s, nil
}

// Decode checks s against kind and userID and unmarshals its JSON into v.
// Every failure is a KindInvalid error with the message "Invalid cursor";
// v is left alone unless the MAC is good.
func (c *Codec) Decode(kind, userID, s string, v any) error {
	if kind == "" || userID == "" {
		return invalid("kind and user id are required")
	}
	if s == "" || len(s) > MaxLen {
		return invalid("empty or too long")
	}
	if !wellFormed(s) {
		return invalid("not two base64url parts")
	}
	p, m, _ := strings.Cut(s, sep)
	payload, err := enc().DecodeString(p)
	if err != nil || len(payload) == 0 {
		return invalid("bad payload encoding")
	}
	got, err := enc().DecodeString(m)
	if err != nil || len(got) != macLen {
		return invalid("bad MAC encoding")
	}
	if !hmac.Equal(got, c.mac(kind, userID, payload)) {
		return invalid("MAC mismatch")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("bad JSON")
	}
	if dec.More() {
		return invalid("data after the JSON")
	}
	return nil
}

// mac is the truncated HMAC of kind, user id and payload, each preceded by
// its length as 8 big-endian bytes.
func (c *Codec) mac(kind, userID string, payload []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	var n [8]byte
	for _, part := range [][]byte{[]byte(kind), []byte(userID), payload} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return h.Sum(nil)[:macLen]
}

// wellFormed reports whether s is two runs of base64url characters joined
// by one separator (the decoder alone would skip line breaks).
func wellFormed(s string) bool {
	seps := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == sep[0]:
			seps++
		default:
			return false
		}
	}
	return seps == 1
}

func invalid(reason string) error {
	return &librechat.Error{Kind: librechat.KindInvalid, Op: "cursor.Decode", Message: Message, Err: errors.New(reason)}
}
