package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/routes"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestSetBuildsTheAppOnceAndEachAreaOnFirstUse(t *testing.T) {
	var opened atomic.Int32
	built := map[string]*atomic.Int32{}
	for _, area := range routes.Areas() {
		built[area] = &atomic.Int32{}
	}
	the := &app.App{}
	s := NewSet(func(context.Context) (*app.App, error) {
		opened.Add(1)
		return the, nil
	}, func(area string, a *app.App) (http.Handler, error) {
		if a != the {
			t.Errorf("area %s built with another App", area)
		}
		built[area].Add(1)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, area+" "+r.URL.Path)
		}), nil
	}, quiet)

	if opened.Load() != 0 {
		t.Fatal("the App was opened before the first request")
	}
	var wg sync.WaitGroup
	for range 8 {
		for _, area := range []string{routes.Auth, routes.Config} {
			wg.Go(func() {
				rec := httptest.NewRecorder()
				s.Handler(area).ServeHTTP(rec, httptest.NewRequest("GET", "/api/x", nil))
				if got, want := rec.Body.String(), area+" /api/x"; got != want {
					t.Errorf("answer %q, want %q", got, want)
				}
			})
		}
	}
	wg.Wait()
	if n := opened.Load(); n != 1 {
		t.Errorf("App opened %d times, want 1", n)
	}
	for _, area := range []string{routes.Auth, routes.Config} {
		if n := built[area].Load(); n != 1 {
			t.Errorf("area %s built %d times, want 1", area, n)
		}
	}
}

func TestSetAnswers500WhenSetupFails(t *testing.T) {
	var opened atomic.Int32
	s := NewSet(func(context.Context) (*app.App, error) {
		opened.Add(1)
		return nil, errors.New("JWT_SECRET must be set")
	}, func(string, *app.App) (http.Handler, error) {
		t.Error("an area was built without an App")
		return nil, nil
	}, quiet)

	for _, area := range []string{routes.Auth, routes.Config, routes.Auth} {
		expect500(t, s.Handler(area))
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("open tried %d times, want 1", n)
	}
}

func TestSetAnswers500WhenAnAreaFails(t *testing.T) {
	s := NewSet(func(context.Context) (*app.App, error) { return &app.App{}, nil },
		func(area string, _ *app.App) (http.Handler, error) {
			if area == routes.Config {
				return nil, errors.New("bad librechat.yaml")
			}
			return http.NotFoundHandler(), nil
		}, quiet)
	expect500(t, s.Handler(routes.Config))
	expect500(t, s.Handler("nope"))

	rec := httptest.NewRecorder()
	s.Handler(routes.Auth).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("a working area answered %d", rec.Code)
	}
}

func expect500(t *testing.T, h http.Handler) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/auth/login", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] == "" || body["message"] == "" {
		t.Fatalf("body %s, want {error, message}", rec.Body)
	}
}

func TestCloudLoggingKeys(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: cloudLogging}))
	log.Warn("careful", "n", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["severity"] != "WARNING" || line["message"] != "careful" || line["n"] != 1.0 {
		t.Errorf("log line %s", buf.Bytes())
	}
}
