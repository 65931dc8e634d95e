// Package gcp is the Google Cloud Functions (gen2) edge: it registers every
// API area with the Functions Framework under the area's name ("auth",
// "config", ...). The deployed function's entry point (FUNCTION_TARGET)
// selects the area; that function then serves every path of the area.
//
// The App is built on the first request, once per instance, and each area
// on its first request. Nothing here knows about LibreChat: requests reach
// the area's http.Handler unchanged.
package gcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	ff "github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/lcgo/lcgo/functions"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/routes"
	"github.com/lcgo/lcgo/shared/setup"
)

func init() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{ReplaceAttr: cloudLogging}))
	set := NewSet(func(ctx context.Context) (*app.App, error) {
		return setup.Open(ctx, setup.Options{Local: false, Logger: log})
	}, functions.New, log)
	for _, area := range routes.Areas() {
		ff.HTTP(area, set.Handler(area).ServeHTTP)
	}
}

// Set builds the App once and each area once, on first use.
type Set struct {
	open  func(context.Context) (*app.App, error)
	build func(area string, a *app.App) (http.Handler, error)
	log   *slog.Logger

	appOnce sync.Once
	app     *app.App
	appErr  error

	areas map[string]*lazyArea
}

type lazyArea struct {
	once sync.Once
	h    http.Handler
	err  error
}

// NewSet returns a Set that opens the App with open and builds areas with
// build. log may be nil (slog.Default()).
func NewSet(open func(context.Context) (*app.App, error), build func(string, *app.App) (http.Handler, error), log *slog.Logger) *Set {
	if log == nil {
		log = slog.Default()
	}
	s := &Set{open: open, build: build, log: log, areas: map[string]*lazyArea{}}
	for _, area := range routes.Areas() {
		s.areas[area] = &lazyArea{}
	}
	return s
}

// Handler serves one area. If the App or the area cannot be built, every
// request gets a 500 with LibreChat's error body and the cause is logged.
func (s *Set) Handler(area string) http.Handler {
	la := s.areas[area]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if la == nil {
			s.fail(w, area, fmt.Errorf("unknown area %q", area))
			return
		}
		la.once.Do(func() {
			la.err = errors.New("building the area panicked")
			a, err := s.App()
			if err != nil {
				la.err = err
				return
			}
			la.h, la.err = s.build(area, a)
		})
		if la.err != nil {
			s.fail(w, area, la.err)
			return
		}
		la.h.ServeHTTP(w, r)
	})
}

func (s *Set) fail(w http.ResponseWriter, area string, err error) {
	s.log.Error("function is not ready", "area", area, "err", err)
	httpx.Fail(w, http.StatusInternalServerError, "Server is not configured")
}

// App opens the App on first call and returns the same result afterwards.
func (s *Set) App() (*app.App, error) {
	s.appOnce.Do(func() {
		s.appErr = errors.New("setup panicked")
		s.app, s.appErr = s.open(context.Background())
	})
	return s.app, s.appErr
}

// cloudLogging renames slog's keys to the ones Cloud Logging reads from
// structured stderr lines.
func cloudLogging(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		a.Key = "severity"
		if l, ok := a.Value.Any().(slog.Level); ok && l == slog.LevelWarn {
			a.Value = slog.StringValue("WARNING")
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}
