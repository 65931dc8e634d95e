package cursor_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/cursor"
	"github.com/lcgo/lcgo/shared/librechat"
)

type pos struct {
	Key string `json:"k"`
	ID  string `json:"i"`
}

const (
	kind  = "convos"
	alice = "user-alice"
	bob   = "user-bob"
)

func encode(t *testing.T, c *cursor.Codec, kind, user string, v any) string {
	t.Helper()
	s, err := c.Encode(kind, user, v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refused checks that s is refused as invalid, with the client message,
// and that v was not touched.
func refused(t *testing.T, c *cursor.Codec, what, kind, user, s string) {
	t.Helper()
	var got pos
	err := c.Decode(kind, user, s, &got)
	if err == nil {
		t.Fatalf("%s: %q accepted as %+v", what, s, got)
	}
	if k := librechat.KindOf(err); k != librechat.KindInvalid {
		t.Fatalf("%s: kind %v (%v)", what, k, err)
	}
	if m := librechat.MessageOf(err); m != cursor.Message {
		t.Fatalf("%s: message %q", what, m)
	}
	if got != (pos{}) {
		t.Fatalf("%s: decoded into %+v despite the error", what, got)
	}
}

func TestRoundTrip(t *testing.T) {
	c := cursor.New([]byte("secret"))
	for _, want := range []pos{
		{Key: "2026-11-20T10:00:00.000000000Z", ID: "00000000-0000-4000-8000-000000000001"},
		{Key: "Ünïcode title \u2028 \"quoted\" .", ID: "x"},
		{Key: "", ID: "y"},
	} {
		s := encode(t, c, kind, alice, want)
		if strings.Count(s, ".") != 1 {
			t.Fatalf("cursor %q is not two parts", s)
		}
		var got pos
		if err := c.Decode(kind, alice, s, &got); err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		// The same secret makes the same key: another Codec reads it.
		var again pos
		if err := cursor.New([]byte("secret")).Decode(kind, alice, s, &again); err != nil || again != want {
			t.Fatalf("another codec of the same secret: %+v %v", again, err)
		}
	}
}

func TestTamperedByteRefused(t *testing.T) {
	c := cursor.New([]byte("secret"))
	s := encode(t, c, kind, alice, pos{Key: "2026-11-20T10:00:00Z", ID: "abc"})
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
	for i := range len(s) {
		for _, r := range alphabet + "\n %" {
			if byte(r) == s[i] {
				continue
			}
			refused(t, c, "byte "+string(s[i])+"→"+string(r), kind, alice, s[:i]+string(r)+s[i+1:])
		}
	}
	p, m, _ := strings.Cut(s, ".")
	for what, bad := range map[string]string{
		"truncated":     s[:len(s)-1],
		"extended":      s + "A",
		"no MAC":        p,
		"empty MAC":     p + ".",
		"no payload":    "." + m,
		"two dots":      p + ".." + m,
		"third part":    s + "." + m,
		"padding":       s + "==",
		"line break":    p[:2] + "\n" + p[2:] + "." + m,
		"swapped parts": m + "." + p,
	} {
		refused(t, c, what, kind, alice, bad)
	}
}

// A cursor whose JSON was changed and re-encoded is refused, even with the
// old MAC.
func TestForgedPayloadRefused(t *testing.T) {
	c := cursor.New([]byte("secret"))
	s := encode(t, c, kind, alice, pos{Key: "2026-11-20T10:00:00Z", ID: "abc"})
	_, m, _ := strings.Cut(s, ".")
	forged, _ := json.Marshal(pos{Key: "2026-11-20T10:00:00Z", ID: "abd"})
	refused(t, c, "forged payload", kind, alice, base64.RawURLEncoding.EncodeToString(forged)+"."+m)
	// The old unsigned form: base64url JSON alone.
	refused(t, c, "unsigned", kind, alice, base64.RawURLEncoding.EncodeToString(forged))
}

func TestOtherUserKindOrKeyRefused(t *testing.T) {
	c := cursor.New([]byte("secret"))
	s := encode(t, c, kind, alice, pos{Key: "k", ID: "i"})
	refused(t, c, "other user", kind, bob, s)
	refused(t, c, "user id prefix", kind, "user-alic", s)
	refused(t, c, "other kind", "messages", alice, s)
	refused(t, c, "empty user", kind, "", s)
	refused(t, c, "empty kind", "", alice, s)
	refused(t, c, "other secret", kind, alice, encode(t, cursor.New([]byte("other secret")), kind, alice, pos{Key: "k", ID: "i"}))
	// Kind and user are length-prefixed: moving a character from one to
	// the other does not give the same MAC.
	s2 := encode(t, c, "ab", "c", pos{Key: "k", ID: "i"})
	refused(t, c, "shifted boundary", "a", "bc", s2)
	// The raw secret is not the MAC key.
	if got := encode(t, c, kind, alice, pos{Key: "k", ID: "i"}); got == encode(t, cursor.New(nil), kind, alice, pos{Key: "k", ID: "i"}) {
		t.Fatal("a random key signed like the secret")
	}
}

func TestRandomKeyWhenNoSecret(t *testing.T) {
	a, b := cursor.FromSecrets("", ""), cursor.FromSecrets("")
	s := encode(t, a, kind, alice, pos{Key: "k", ID: "i"})
	var got pos
	if err := a.Decode(kind, alice, s, &got); err != nil {
		t.Fatalf("same codec: %v", err)
	}
	refused(t, b, "another random key", kind, alice, s)
	// FromSecrets takes the first non-empty secret.
	s = encode(t, cursor.FromSecrets("", "creds"), kind, alice, pos{Key: "k", ID: "i"})
	if err := cursor.New([]byte("creds")).Decode(kind, alice, s, &got); err != nil {
		t.Fatalf("fallback secret: %v", err)
	}
	s = encode(t, cursor.FromSecrets("jwt", "creds"), kind, alice, pos{Key: "k", ID: "i"})
	if err := cursor.New([]byte("jwt")).Decode(kind, alice, s, &got); err != nil {
		t.Fatalf("first secret: %v", err)
	}
}

func TestGarbageRefused(t *testing.T) {
	c := cursor.New([]byte("secret"))
	for _, s := range []string{
		"", ".", "..", "!!", "bm90LWpzb24", "eyJrIjoiayIsImkiOiJpIn0", "e30.AAAAAAAAAAAAAAAAAAAAAA",
		"%%%.%%%", "a.b", strings.Repeat("A", cursor.MaxLen+1),
		strings.Repeat("A", cursor.MaxLen-23) + ".AAAAAAAAAAAAAAAAAAAAAA",
	} {
		refused(t, c, "garbage", kind, alice, s)
	}
}

// Valid MAC, but the JSON does not fit v: still invalid, never a panic.
func TestSignedButWrongShapeRefused(t *testing.T) {
	c := cursor.New([]byte("secret"))
	for _, v := range []any{map[string]any{"x": 1}, []int{1}, "text", map[string]any{"k": 5}} {
		refused(t, c, "wrong shape", kind, alice, encode(t, c, kind, alice, v))
	}
}

func TestEncodeErrors(t *testing.T) {
	c := cursor.New([]byte("secret"))
	for what, f := range map[string]func() (string, error){
		"no kind":     func() (string, error) { return c.Encode("", alice, pos{}) },
		"no user":     func() (string, error) { return c.Encode(kind, "", pos{}) },
		"unencodable": func() (string, error) { return c.Encode(kind, alice, func() {}) },
		"too long":    func() (string, error) { return c.Encode(kind, alice, pos{Key: strings.Repeat("k", cursor.MaxLen)}) },
	} {
		if s, err := f(); err == nil || s != "" || librechat.KindOf(err) == librechat.KindInvalid {
			t.Errorf("%s: %q %v", what, s, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	c := cursor.New([]byte("fuzz secret"))
	good, err := c.Encode(kind, alice, pos{Key: "2026-11-20T10:00:00Z", ID: "abc"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, alice)
	f.Add(good, bob)
	f.Add("", alice)
	f.Add("eyJrIjoiayIsImkiOiJpIn0", alice)
	f.Add("e30.AAAAAAAAAAAAAAAAAAAAAA", alice)
	f.Fuzz(func(t *testing.T, s, user string) {
		var got pos
		err := c.Decode(kind, user, s, &got)
		if err == nil {
			// Only what this codec issued to this user can pass.
			if s != good || user != alice {
				t.Fatalf("accepted %q for %q", s, user)
			}
			return
		}
		if librechat.KindOf(err) != librechat.KindInvalid {
			t.Fatalf("error of kind %v: %v", librechat.KindOf(err), err)
		}
	})
}
