package functions_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lcgo/lcgo/functions"
	"github.com/lcgo/lcgo/shared/app/apptest"
)

func TestRouter(t *testing.T) {
	a, _ := apptest.New(t, nil)
	spa := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("index")) })
	h, err := functions.Router(a, spa)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/health", 200, "OK"},
		{"/api/nothing/here", 404, `{"error":"Endpoint not found","message":"Endpoint not found"}`},
		{"/c/new", 200, "index"},
		{"/login", 200, "index"},
		{"/api/user", 401, `{"message":"No auth token"}`},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != c.status || rec.Body.String() != c.body {
			t.Errorf("GET %s: %d %q", c.path, rec.Code, rec.Body)
		}
	}
	if _, err := functions.New("nope", a); err == nil {
		t.Error("unknown area built")
	}
}
