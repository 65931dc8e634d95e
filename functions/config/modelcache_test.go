package config_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	configfn "github.com/lcgo/lcgo/functions/config"
	"github.com/lcgo/lcgo/shared/cache"
	"github.com/lcgo/lcgo/shared/cache/memcache"
	"github.com/lcgo/lcgo/shared/cache/rediscache"
	"github.com/lcgo/lcgo/shared/chat/redisjobs/redistest"
	"github.com/lcgo/lcgo/shared/librechat"
)

// instance builds another config area over e's App with c as its cache,
// as another function instance would be.
func instance(t *testing.T, e *testEnv, c cache.Cache) http.Handler {
	t.Helper()
	a := *e.a
	a.Cache = c
	h, err := configfn.New(&a)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func getModels(t *testing.T, h http.Handler, tok string) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/api/models", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("GET /api/models: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

const fetchedModels = `{"FakeOpenAI":["fake-gpt-1","fake-gpt-2"]}`

// Two config areas sharing one cache ask the provider's /models once.
func TestTwoInstancesShareFetchedModels(t *testing.T) {
	for _, tc := range []struct {
		name string
		// caches returns the cache of each instance: one cache, or two
		// clients of one.
		caches func(t *testing.T, e *testEnv) (cache.Cache, cache.Cache)
	}{
		{"memcache", func(t *testing.T, e *testEnv) (cache.Cache, cache.Cache) {
			c := memcache.New(memcache.Options{Clock: e.clock})
			return c, c
		}},
		{"redis", func(t *testing.T, e *testEnv) (cache.Cache, cache.Cache) {
			addr := redistest.Start(t)
			var b [6]byte
			_, _ = rand.Read(b[:])
			prefix := "t" + hex.EncodeToString(b[:]) + ":"
			mk := func() cache.Cache {
				rdb := redis.NewClient(&redis.Options{Addr: addr})
				t.Cleanup(func() { _ = rdb.Close() })
				return rediscache.New(rdb, rediscache.Options{Prefix: prefix})
			}
			return mk(), mk()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := fakeOpenAI(t, 200, &calls)
			e := newEnv(t, map[string]string{"FAKE_KEY": "sk-fake-key"}, fakeYAML(srv.URL))
			_, tok := e.newUser(librechat.RoleUser)
			ca, cb := tc.caches(t, e)
			a, b := instance(t, e, ca), instance(t, e, cb)
			if got := getModels(t, a, tok); got != fetchedModels {
				t.Fatalf("instance A: %s", got)
			}
			if got := getModels(t, b, tok); got != fetchedModels {
				t.Fatalf("instance B: %s", got)
			}
			getModels(t, a, tok)
			getModels(t, b, tok)
			if n := calls.Load(); n != 1 {
				t.Fatalf("provider asked %d times, want 1", n)
			}
		})
	}
}

// With models.userIdQuery each user's list is fetched once, whichever
// instance asks.
func TestSharedFetchedModelsPerUser(t *testing.T) {
	var calls atomic.Int32
	srv := fakeOpenAI(t, 200, &calls)
	yaml := strings.Replace(fakeYAML(srv.URL), "        fetch: true\n", "        fetch: true\n        userIdQuery: true\n", 1)
	e := newEnv(t, map[string]string{"FAKE_KEY": "sk-fake-key"}, yaml)
	_, ada := e.newUser(librechat.RoleUser)
	_, bob := e.newUser(librechat.RoleUser)
	c := memcache.New(memcache.Options{Clock: e.clock})
	a, b := instance(t, e, c), instance(t, e, c)
	getModels(t, a, ada)
	getModels(t, b, ada)
	if n := calls.Load(); n != 1 {
		t.Fatalf("after one user: %d fetches", n)
	}
	getModels(t, b, bob)
	getModels(t, a, bob)
	if n := calls.Load(); n != 2 {
		t.Fatalf("after two users: %d fetches", n)
	}
	// The TTL is the cache's: both instances fetch again once it passes.
	e.clock.Advance(6 * time.Minute)
	getModels(t, a, ada)
	getModels(t, b, ada)
	if n := calls.Load(); n != 3 {
		t.Fatalf("after the TTL: %d fetches", n)
	}
}

// failingCache fails every call.
type failingCache struct{}

func (failingCache) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("down")
}
func (failingCache) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("down")
}
func (failingCache) Delete(context.Context, ...string) error { return errors.New("down") }

// A cache that fails costs fetches, never answers.
func TestFetchedModelsWithoutCache(t *testing.T) {
	var calls atomic.Int32
	srv := fakeOpenAI(t, 200, &calls)
	e := newEnv(t, map[string]string{"FAKE_KEY": "sk-fake-key"}, fakeYAML(srv.URL))
	_, tok := e.newUser(librechat.RoleUser)
	h := instance(t, e, failingCache{})
	for range 2 {
		if got := getModels(t, h, tok); got != fetchedModels {
			t.Fatalf("models: %s", got)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("fetches: %d, want one per request", n)
	}
}
