// Package apptest builds an App for tests: a real SQLite store in a
// temporary directory, a clock the test moves, fixed secrets, and a mailer
// that keeps what it was asked to send.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/mail"
	"github.com/lcgo/lcgo/shared/ratelimit"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

// Clock is a clock that moves only when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Mailer keeps every message it is asked to send.
type Mailer struct {
	mu   sync.Mutex
	sent []mail.Message
}

// Send implements mail.Mailer.
func (m *Mailer) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	m.sent = append(m.sent, msg)
	m.mu.Unlock()
	return nil
}

// Sent returns the messages so far.
func (m *Mailer) Sent() []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mail.Message(nil), m.sent...)
}

// Config returns the configuration tests start from: LibreChat's defaults
// with fixed test secrets.
func Config() *config.Config {
	return &config.Config{
		Host: "127.0.0.1", Port: 3080, AppTitle: "LibreChat",
		DomainServer: "http://127.0.0.1:3080", DomainClient: "http://127.0.0.1:3080",
		HelpAndFAQURL: "https://librechat.ai",
		CredsKey:      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		Auth: config.Auth{
			JWTSecret: "test-access-secret", JWTRefreshSecret: "test-refresh-secret",
			SessionExpiry: 15 * time.Minute, RefreshExpiry: 7 * 24 * time.Hour, RefreshGrace: 10 * time.Second,
			AllowRegistration: true, AllowEmailLogin: true, AllowUnverifiedEmailLogin: true, AllowAccountDeletion: true,
			MinPasswordLength: 8,
			LoginMax:          1000, LoginWindow: 5 * time.Minute, RegisterMax: 1000, RegisterWindow: time.Hour,
		},
	}
}

// Parts are the test doubles of an App, for tests to steer.
type Parts struct {
	Clock  *Clock
	Mailer *Mailer
}

// New returns an App over a fresh SQLite store. mutate, if not nil, may
// change the configuration first.
func New(t testing.TB, mutate func(*config.Config)) (*app.App, Parts) {
	t.Helper()
	cfg := Config()
	cfg.DataDir = t.TempDir()
	if mutate != nil {
		mutate(cfg)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "test.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clock := NewClock(time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC))
	mailer := &Mailer{}
	a := &app.App{
		Config: cfg, Store: st, Clock: clock, IDs: &app.RandomIDs{Clock: clock},
		Limiter: ratelimit.NewMemory(clock), Mailer: mailer,
		HTTP: &http.Client{Timeout: 5 * time.Second},
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return a, Parts{Clock: clock, Mailer: mailer}
}
