package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

func TestPanicBecomes500WithRequestID(t *testing.T) {
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	var body ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if rec.Code != 500 || body.RequestID == "" || body.RequestID != rec.Header().Get("X-Request-Id") || body.Error != body.Message {
		t.Fatalf("panic answer: %d %s", rec.Code, rec.Body)
	}
}

func TestErrorKindsMapToStatus(t *testing.T) {
	cases := map[librechat.Kind]int{
		librechat.KindInvalid: 400, librechat.KindNotFound: 404, librechat.KindUnauthorized: 401,
		librechat.KindForbidden: 403, librechat.KindConflict: 409, librechat.KindTooMany: 429,
		librechat.KindTooLarge: 413, librechat.KindUnsupportedType: 415, librechat.KindOther: 500,
	}
	for kind, status := range cases {
		rec := httptest.NewRecorder()
		Error(rec, httptest.NewRequest("GET", "/", nil), librechat.E(kind, "the message"))
		var body ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != status || body.Error != body.Message {
			t.Errorf("%v: %d %s", kind, rec.Code, rec.Body)
		}
		if status < 500 && body.Message != "the message" {
			t.Errorf("%v: message %q", kind, body.Message)
		}
	}
	// An internal error never shows its cause.
	rec := httptest.NewRecorder()
	Error(rec, httptest.NewRequest("GET", "/", nil), librechat.Wrap(librechat.KindOther, "db", errSecret{}))
	if strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("internal cause leaked: %s", rec.Body)
	}
}

type errSecret struct{}

func (errSecret) Error() string { return "secret connection string" }

func TestDecodeJSON(t *testing.T) {
	type dst struct {
		N int `json:"n"`
	}
	cases := []struct {
		name, ct, body string
		kind           librechat.Kind
	}{
		{"ok", "application/json", `{"n":1}`, 0},
		{"empty body", "application/json", ``, 0},
		{"no content type", "", `{"n":1}`, 0},
		{"malformed", "application/json", `{"n":`, librechat.KindInvalid},
		{"wrong type", "application/json", `{"n":"x"}`, librechat.KindInvalid},
		{"form", "application/x-www-form-urlencoded", `n=1`, librechat.KindUnsupportedType},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		var d dst
		err := DecodeJSON(r, &d)
		if c.kind == 0 && err != nil || c.kind != 0 && librechat.KindOf(err) != c.kind {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	big := httptest.NewRequest("POST", "/", strings.NewReader(`{"n":"`+strings.Repeat("x", MaxBody)+`"}`))
	if err := DecodeJSON(big, &dst{}); librechat.KindOf(err) != librechat.KindTooLarge {
		t.Fatalf("oversized body: %v", err)
	}
}
