package files_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/librechat"
)

func parseSigned(t *testing.T, s string) (userID, fileID, exp, sig string) {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	owner, id, _, ok := files.ParsePath(u.Path)
	if !ok {
		t.Fatalf("not a file URL: %s", s)
	}
	return owner, id, u.Query().Get("exp"), u.Query().Get("sig")
}

func TestSignedURLs(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)}
	s := files.NewURLSigner("secret", c, time.Hour)
	img := &librechat.File{ID: "f1", UserID: "alice", Type: "image/png"}
	doc := &librechat.File{ID: "f2", UserID: "alice", Type: "application/pdf"}

	u := s.URL(img)
	if !strings.HasPrefix(u, "/api/files/images/alice/f1?exp=") {
		t.Errorf("image URL %s", u)
	}
	if d := s.URL(doc); !strings.HasPrefix(d, "/api/files/uploads/alice/f2?exp=") {
		t.Errorf("document URL %s", d)
	}
	owner, id, exp, sig := parseSigned(t, u)
	if err := s.Verify(owner, id, exp, sig); err != nil {
		t.Fatalf("valid: %v", err)
	}

	// Tampered: another file, another user, another expiry, a changed signature.
	if err := s.Verify(owner, "f2", exp, sig); err != files.ErrBadSignature {
		t.Errorf("other file: %v", err)
	}
	if err := s.Verify("bob", id, exp, sig); err != files.ErrBadSignature {
		t.Errorf("other user: %v", err)
	}
	if err := s.Verify(owner, id, exp+"0", sig); err != files.ErrBadSignature {
		t.Errorf("longer expiry: %v", err)
	}
	bad := []byte(sig)
	bad[3] ^= 1
	if err := s.Verify(owner, id, exp, string(bad)); err != files.ErrBadSignature {
		t.Errorf("changed signature: %v", err)
	}
	if err := s.Verify(owner, id, "", sig); err != files.ErrBadSignature {
		t.Errorf("expiry removed: %v", err)
	}
	other := files.NewURLSigner("other secret", c, time.Hour)
	if err := other.Verify(owner, id, exp, sig); err != files.ErrBadSignature {
		t.Errorf("other key: %v", err)
	}

	// Expired.
	c.Advance(time.Hour)
	if err := s.Verify(owner, id, exp, sig); err != files.ErrExpired {
		t.Errorf("expired: %v", err)
	}

	// Avatars never expire.
	av := &librechat.File{ID: "f3", UserID: "alice", Type: "image/png", Context: files.ContextAvatar}
	au := s.URL(av)
	if strings.Contains(au, "exp=") {
		t.Errorf("avatar URL expires: %s", au)
	}
	owner, id, exp, sig = parseSigned(t, au)
	c.Advance(1000 * 24 * time.Hour)
	if err := s.Verify(owner, id, exp, sig); err != nil {
		t.Errorf("avatar: %v", err)
	}
	// A non-expiring signature is not valid for an expiring URL of the same file.
	if err := s.Verify(owner, id, "99999999999", sig); err != files.ErrBadSignature {
		t.Errorf("avatar signature reused: %v", err)
	}
}

func TestRenew(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)}
	s := files.NewURLSigner("secret", c, time.Hour)
	img := &librechat.File{ID: "f1", UserID: "alice", Type: "image/png"}
	old := s.URL(img)
	c.Advance(2 * time.Hour)
	fresh := s.Renew("alice", old)
	if fresh == old {
		t.Fatal("not renewed")
	}
	owner, id, exp, sig := parseSigned(t, fresh)
	if err := s.Verify(owner, id, exp, sig); err != nil {
		t.Fatalf("renewed URL: %v", err)
	}
	for _, keep := range []string{
		"https://cdn.example.com/x.png", "/images/alice/x.png", "data:image/png;base64,AAAA",
		s.URL(&librechat.File{ID: "f9", UserID: "bob", Type: "image/png"}), // another user's
		s.URL(&librechat.File{ID: "f3", UserID: "alice", Type: "image/png", Context: files.ContextAvatar}),
	} {
		if got := s.Renew("alice", keep); got != keep {
			t.Errorf("Renew(%s) = %s", keep, got)
		}
	}

	list := json.RawMessage(`[{"file_id":"f1","filepath":"` + old + `","type":"image/png","width":3},{"file_id":"x","filepath":"/other"},"odd"]`)
	out := s.RenewFiles("alice", list)
	var raw []json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil || len(raw) != 3 {
		t.Fatalf("RenewFiles: %s", out)
	}
	if !strings.HasPrefix(string(raw[0]), `{"file_id":"f1","filepath":"/api/files/images/alice/f1?exp=`) || !strings.HasSuffix(string(raw[0]), `,"type":"image/png","width":3}`) {
		t.Errorf("first entry: %s", raw[0])
	}
	if strings.Contains(string(out), `\u0026`) {
		t.Errorf("& escaped: %s", out)
	}
	if string(raw[1]) != `{"file_id":"x","filepath":"/other"}` || string(raw[2]) != `"odd"` {
		t.Errorf("others changed: %s", out)
	}
	if got := s.RenewFiles("alice", json.RawMessage(`{"not":"an array"}`)); string(got) != `{"not":"an array"}` {
		t.Errorf("non-array: %s", got)
	}
}
