package cachedstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/cache"
	"github.com/lcgo/lcgo/shared/cache/cachedstore"
	"github.com/lcgo/lcgo/shared/cache/memcache"
	"github.com/lcgo/lcgo/shared/cache/rediscache"
	"github.com/lcgo/lcgo/shared/chat/redisjobs/redistest"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

// counting is the real store, counting the reads the decorator caches.
type counting struct {
	librechat.Store
	configReads atomic.Int32
	groupReads  atomic.Int32
}

func (c *counting) ModelConfigs(ctx context.Context, scope, scopeID string) ([]*librechat.ModelConfig, error) {
	c.configReads.Add(1)
	return c.Store.ModelConfigs(ctx, scope, scopeID)
}

func (c *counting) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	c.groupReads.Add(1)
	return c.Store.GroupsOf(ctx, userID)
}

func openStore(t *testing.T) *counting {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "librechat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &counting{Store: st}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func redisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

var (
	t0    = time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	nextN atomic.Int32
)

func newConfig(scope, scopeID, name, model string) *librechat.ModelConfig {
	n := nextN.Add(1)
	return &librechat.ModelConfig{
		ID: "mc" + hex.EncodeToString([]byte{byte(n >> 8), byte(n)}), Scope: scope, ScopeID: scopeID, Name: name,
		Spec:      json.RawMessage(`{"endpoint": "openAI",  "model": "` + model + `"}`),
		CreatedAt: t0, UpdatedAt: t0, UpdatedBy: "admin",
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// list reads one scope and returns "name=model" for each configuration.
func list(t *testing.T, s librechat.Store, scope, scopeID string) []string {
	t.Helper()
	mcs, err := s.ModelConfigs(context.Background(), scope, scopeID)
	if err != nil {
		t.Fatalf("ModelConfigs(%s, %s): %v", scope, scopeID, err)
	}
	out := []string{}
	for _, mc := range mcs {
		var spec struct{ Model string }
		_ = json.Unmarshal(mc.Spec, &spec)
		out = append(out, mc.Name+"="+spec.Model)
	}
	return out
}

func groupsOf(t *testing.T, s librechat.Store, userID string) []string {
	t.Helper()
	ids, err := s.GroupsOf(context.Background(), userID)
	if err != nil {
		t.Fatalf("GroupsOf(%s): %v", userID, err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids
}

func expect[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// twoInstances runs two decorators over one store and one cache (ca and cb
// are the same cache, or two clients of it), like two function instances
// sharing Redis: whatever A writes, B's next read sees.
func twoInstances(t *testing.T, ca, cb cache.Cache) {
	ctx := context.Background()
	st := openStore(t)
	a := cachedstore.New(st, ca, cachedstore.Options{Log: quiet()})
	b := cachedstore.New(st, cb, cachedstore.Options{Log: quiet()})
	sys, grp, usr := librechat.ScopeSystem, librechat.ScopeGroup, librechat.ScopeUser

	// B reads, then reads from the cache.
	expect(t, "B system", list(t, b, sys, ""), []string{})
	expect(t, "B group g1", list(t, b, grp, "g1"), []string{})
	expect(t, "B user u1", list(t, b, usr, "u1"), []string{})
	reads := st.configReads.Load()
	expect(t, "B system again", list(t, b, sys, ""), []string{})
	expect(t, "A system", list(t, a, sys, ""), []string{})
	expect(t, "store reads for cached lists", st.configReads.Load(), reads)

	alpha := newConfig(sys, "", "alpha", "gpt-4o")
	must(t, a.CreateModelConfig(ctx, alpha))
	expect(t, "B system after A's create", list(t, b, sys, ""), []string{"alpha=gpt-4o"})

	beta := newConfig(grp, "g1", "beta", "gpt-4.1")
	must(t, a.CreateModelConfig(ctx, beta))
	expect(t, "B group g1 after A's create", list(t, b, grp, "g1"), []string{"beta=gpt-4.1"})

	// A failed create changes nothing and invalidates nothing that matters.
	dup := newConfig(sys, "", "alpha", "other")
	if err := a.CreateModelConfig(ctx, dup); !librechat.IsConflict(err) {
		t.Fatalf("duplicate create: %v", err)
	}
	expect(t, "B system after a refused create", list(t, b, sys, ""), []string{"alpha=gpt-4o"})

	changed := *alpha
	changed.Spec = json.RawMessage(`{"endpoint":"openAI","model":"o3"}`)
	must(t, a.UpdateModelConfig(ctx, &changed))
	expect(t, "B system after A's update", list(t, b, sys, ""), []string{"alpha=o3"})

	// An update by id that moves the configuration invalidates both scopes.
	moved := changed
	moved.Scope, moved.ScopeID = usr, "u1"
	must(t, a.UpdateModelConfig(ctx, &moved))
	expect(t, "B system after the move", list(t, b, sys, ""), []string{})
	expect(t, "B user u1 after the move", list(t, b, usr, "u1"), []string{"alpha=o3"})

	// A delete by id invalidates the scope the configuration was in.
	must(t, a.DeleteModelConfig(ctx, alpha.ID))
	expect(t, "B user u1 after A's delete", list(t, b, usr, "u1"), []string{})
	must(t, b.DeleteModelConfig(ctx, beta.ID))
	expect(t, "A group g1 after B's delete", list(t, a, grp, "g1"), []string{})
	if err := a.DeleteModelConfig(ctx, alpha.ID); !librechat.IsNotFound(err) {
		t.Fatalf("deleting again: %v", err)
	}
	if err := a.UpdateModelConfig(ctx, &moved); !librechat.IsNotFound(err) {
		t.Fatalf("updating a deleted one: %v", err)
	}

	// Group memberships.
	for _, id := range []string{"g1", "g2"} {
		must(t, a.CreateGroup(ctx, &librechat.Group{ID: id, Name: "group " + id, CreatedAt: t0, UpdatedAt: t0}))
	}
	expect(t, "B groups of u1", groupsOf(t, b, "u1"), []string{})
	expect(t, "B groups of u2", groupsOf(t, b, "u2"), []string{})
	greads := st.groupReads.Load()
	expect(t, "B groups of u1 again", groupsOf(t, b, "u1"), []string{})
	expect(t, "store reads for cached groups", st.groupReads.Load(), greads)

	must(t, a.AddMember(ctx, "g1", "u1"))
	must(t, a.AddMember(ctx, "g2", "u1"))
	expect(t, "B groups of u1 after A's adds", groupsOf(t, b, "u1"), []string{"g1", "g2"})
	must(t, a.RemoveMember(ctx, "g1", "u1"))
	expect(t, "B groups of u1 after A's remove", groupsOf(t, b, "u1"), []string{"g2"})
	must(t, a.AddMember(ctx, "g2", "u2"))
	expect(t, "B groups of u2 after A's add", groupsOf(t, b, "u2"), []string{"g2"})
	must(t, a.DeleteGroup(ctx, "g2"))
	expect(t, "B groups of u1 after A's group delete", groupsOf(t, b, "u1"), []string{})
	expect(t, "B groups of u2 after A's group delete", groupsOf(t, b, "u2"), []string{})
	if err := a.AddMember(ctx, "g2", "u1"); !librechat.IsNotFound(err) {
		t.Fatalf("adding to a deleted group: %v", err)
	}
	expect(t, "B groups of u1 after a refused add", groupsOf(t, b, "u1"), []string{})
}

func TestTwoInstancesMemcache(t *testing.T) {
	c := memcache.New(memcache.Options{})
	twoInstances(t, c, c)
}

// Two instances, each with its own client, over one Redis.
func TestTwoInstancesRedis(t *testing.T) {
	addr := redistest.Start(t)
	p := prefix()
	twoInstances(t,
		rediscache.New(redisClient(t, addr), rediscache.Options{Prefix: p}),
		rediscache.New(redisClient(t, addr), rediscache.Options{Prefix: p}))
}

// What comes from the cache is what the store returned.
func TestCachedEqualsStored(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	s := cachedstore.New(st, memcache.New(memcache.Options{}), cachedstore.Options{Log: quiet()})
	for _, name := range []string{"b", "a", "c"} {
		mc := newConfig(librechat.ScopeGroup, "g", name, name)
		mc.Spec = json.RawMessage("{\n  \"endpoint\": \"openAI\",\t\"model\": \"é\\u00e9\"\n}")
		must(t, st.CreateModelConfig(ctx, mc))
	}
	want, err := st.Store.ModelConfigs(ctx, librechat.ScopeGroup, "g")
	must(t, err)
	first, err := s.ModelConfigs(ctx, librechat.ScopeGroup, "g")
	must(t, err)
	cached, err := s.ModelConfigs(ctx, librechat.ScopeGroup, "g")
	must(t, err)
	if st.configReads.Load() != 1 {
		t.Fatalf("store reads: %d", st.configReads.Load())
	}
	expect(t, "first read", first, want)
	expect(t, "cached read", cached, want)
	if !bytes.Equal(cached[0].Spec, want[0].Spec) {
		t.Fatalf("spec %q, want %q", cached[0].Spec, want[0].Spec)
	}
	// Each read returns its own values.
	cached[0].Name = "changed"
	again, _ := s.ModelConfigs(ctx, librechat.ScopeGroup, "g")
	expect(t, "after the caller changed its copy", again, want)
}

// A list is cached per scope and scope id for the TTL, then read again;
// a change made behind the cache's back shows after the TTL.
func TestTTL(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	st := openStore(t)
	mem := memcache.New(memcache.Options{Clock: clk})
	s := cachedstore.New(st, mem, cachedstore.Options{Log: quiet()})
	list(t, s, librechat.ScopeSystem, "")
	list(t, s, librechat.ScopeUser, "u1")
	list(t, s, librechat.ScopeUser, "u2")
	expect(t, "reads", st.configReads.Load(), int32(3))
	must(t, st.CreateModelConfig(ctx, newConfig(librechat.ScopeUser, "u1", "direct", "m")))
	clk.Advance(cachedstore.DefaultTTL - time.Second)
	expect(t, "u1 within the TTL", list(t, s, librechat.ScopeUser, "u1"), []string{})
	expect(t, "reads", st.configReads.Load(), int32(3))
	clk.Advance(time.Second)
	expect(t, "u1 after the TTL", list(t, s, librechat.ScopeUser, "u1"), []string{"direct=m"})
	expect(t, "reads", st.configReads.Load(), int32(4))

	// The list of every configuration is not cached.
	list(t, s, "", "")
	list(t, s, "", "")
	expect(t, "reads of every configuration", st.configReads.Load(), int32(6))

	// The TTL is an option, and the cached value is the JSON list.
	s2 := cachedstore.New(st, mem, cachedstore.Options{TTL: time.Minute, Log: quiet()})
	must(t, mem.Delete(ctx, "modelconfigs:user:u1"))
	list(t, s2, librechat.ScopeUser, "u1")
	raw, ok, _ := mem.Get(ctx, "modelconfigs:user:u1")
	var decoded []map[string]any
	if !ok || json.Unmarshal(raw, &decoded) != nil || len(decoded) != 1 || decoded[0]["name"] != "direct" {
		t.Fatalf("cached value %s", raw)
	}
	clk.Advance(time.Minute)
	if _, ok, _ := mem.Get(ctx, "modelconfigs:user:u1"); ok {
		t.Fatal("kept beyond the TTL option")
	}
}

// On Redis the TTL runs in real time: a short one, polled.
func TestTTLRedis(t *testing.T) {
	ctx := context.Background()
	rc := rediscache.New(redisClient(t, redistest.Start(t)), rediscache.Options{Prefix: prefix()})
	st := openStore(t)
	s := cachedstore.New(st, rc, cachedstore.Options{TTL: 200 * time.Millisecond, Log: quiet()})
	expect(t, "system", list(t, s, librechat.ScopeSystem, ""), []string{})
	must(t, st.CreateModelConfig(ctx, newConfig(librechat.ScopeSystem, "", "direct", "m")))
	start := time.Now()
	expect(t, "system within the TTL", list(t, s, librechat.ScopeSystem, ""), []string{})
	for {
		got := list(t, s, librechat.ScopeSystem, "")
		if slices.Equal(got, []string{"direct=m"}) {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("still %v 5s after a 200ms TTL", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flaky is a memcache whose calls fail while told to.
type flaky struct {
	mem                          *memcache.Cache
	failGet, failSet, failDelete atomic.Bool
	gets                         atomic.Int32
}

var errDown = errors.New("cache is down")

func newFlaky() *flaky { return &flaky{mem: memcache.New(memcache.Options{})} }

func (f *flaky) down(v bool) {
	f.failGet.Store(v)
	f.failSet.Store(v)
	f.failDelete.Store(v)
}

func (f *flaky) Get(ctx context.Context, key string) ([]byte, bool, error) {
	f.gets.Add(1)
	if f.failGet.Load() {
		return nil, false, errDown
	}
	return f.mem.Get(ctx, key)
}

func (f *flaky) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if f.failSet.Load() {
		return errDown
	}
	return f.mem.Set(ctx, key, val, ttl)
}

func (f *flaky) Delete(ctx context.Context, keys ...string) error {
	if f.failDelete.Load() {
		return errDown
	}
	return f.mem.Delete(ctx, keys...)
}

// logBuffer collects log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// workWithout checks that reads and writes through s answer from the store
// while its cache fails.
func workWithout(t *testing.T, s librechat.Store) {
	t.Helper()
	ctx := context.Background()
	mc := newConfig(librechat.ScopeSystem, "", "while-down-"+prefix(), "m")
	must(t, s.CreateModelConfig(ctx, mc))
	if got := list(t, s, librechat.ScopeSystem, ""); !slices.Contains(got, mc.Name+"=m") {
		t.Fatalf("system while the cache fails: %v", got)
	}
	mc.Spec = json.RawMessage(`{"endpoint":"openAI","model":"n"}`)
	must(t, s.UpdateModelConfig(ctx, mc))
	if got := list(t, s, librechat.ScopeSystem, ""); !slices.Contains(got, mc.Name+"=n") {
		t.Fatalf("system after an update while the cache fails: %v", got)
	}
	must(t, s.DeleteModelConfig(ctx, mc.ID))
	if got := list(t, s, librechat.ScopeSystem, ""); slices.Contains(got, mc.Name+"=n") {
		t.Fatalf("system after a delete while the cache fails: %v", got)
	}
	gid := "g-" + prefix()
	must(t, s.CreateGroup(ctx, &librechat.Group{ID: gid, Name: gid}))
	must(t, s.AddMember(ctx, gid, "u-down"))
	if got := groupsOf(t, s, "u-down"); !slices.Contains(got, gid) {
		t.Fatalf("groups while the cache fails: %v", got)
	}
	must(t, s.DeleteGroup(ctx, gid))
	if got := groupsOf(t, s, "u-down"); slices.Contains(got, gid) {
		t.Fatalf("groups after a delete while the cache fails: %v", got)
	}
}

func TestCacheErrorsFallBackToTheStore(t *testing.T) {
	logs := &logBuffer{}
	c := newFlaky()
	c.down(true)
	s := cachedstore.New(openStore(t), c, cachedstore.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	expect(t, "system while the cache fails", list(t, s, librechat.ScopeSystem, ""), []string{})
	workWithout(t, s)
	if c.gets.Load() == 0 {
		t.Fatal("the cache was never asked")
	}
	for _, want := range []string{"cache read failed", "invalidating the cache failed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in the log:\n%s", want, logs)
		}
	}
	// Only filling the cache fails.
	logs = &logBuffer{}
	c = newFlaky()
	c.failSet.Store(true)
	s = cachedstore.New(openStore(t), c, cachedstore.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	workWithout(t, s)
	if !strings.Contains(logs.String(), "cache write failed") {
		t.Errorf("no failed write in the log:\n%s", logs)
	}
}

// After a failure reads leave the cache alone for RetryAfter, then use it
// again; invalidations are attempted all along.
func TestRetryAfter(t *testing.T) {
	ctx := context.Background()
	c := newFlaky()
	st := openStore(t)
	s := cachedstore.New(st, c, cachedstore.Options{RetryAfter: 100 * time.Millisecond, Log: quiet()})
	c.down(true)
	list(t, s, librechat.ScopeSystem, "")
	list(t, s, librechat.ScopeSystem, "")
	list(t, s, librechat.ScopeSystem, "")
	expect(t, "cache reads while down", c.gets.Load(), int32(1))
	expect(t, "store reads while down", st.configReads.Load(), int32(3))
	c.down(false)
	must(t, c.mem.Set(ctx, "modelconfigs:system:", []byte(`[]`), time.Hour))
	must(t, s.CreateModelConfig(ctx, newConfig(librechat.ScopeSystem, "", "new", "m")))
	if _, ok, _ := c.mem.Get(ctx, "modelconfigs:system:"); ok {
		t.Fatal("a write while reads skip the cache did not invalidate it")
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.gets.Load() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("reads never used the cache again")
		}
		list(t, s, librechat.ScopeSystem, "")
		time.Sleep(5 * time.Millisecond)
	}
	reads := st.configReads.Load()
	expect(t, "system", list(t, s, librechat.ScopeSystem, ""), []string{"new=m"})
	expect(t, "system", list(t, s, librechat.ScopeSystem, ""), []string{"new=m"})
	expect(t, "store reads once the cache is back", st.configReads.Load(), reads)
}

func TestUndecodableValueIsAMiss(t *testing.T) {
	ctx := context.Background()
	mem := memcache.New(memcache.Options{})
	st := openStore(t)
	must(t, st.CreateModelConfig(ctx, newConfig(librechat.ScopeSystem, "", "x", "m")))
	must(t, mem.Set(ctx, "modelconfigs:system:", []byte("\x00not json"), time.Hour))
	must(t, mem.Set(ctx, "groupsof:u1", []byte(`{"not":"a list"}`), time.Hour))
	s := cachedstore.New(st, mem, cachedstore.Options{Log: quiet()})
	expect(t, "system", list(t, s, librechat.ScopeSystem, ""), []string{"x=m"})
	expect(t, "groups", groupsOf(t, s, "u1"), []string{})
	// And the good value replaced the bad one.
	expect(t, "system again", list(t, s, librechat.ScopeSystem, ""), []string{"x=m"})
	expect(t, "reads", st.configReads.Load(), int32(1))
}

func TestRedisDeadAddress(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	workWithout(t, cachedstore.New(openStore(t), rediscache.New(rdb, rediscache.Options{}), cachedstore.Options{Log: quiet()}))
}

// Redis goes away while instances run: they keep answering from the store.
func TestRedisStopped(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	p := prefix()
	st := openStore(t)
	a := cachedstore.New(st, rediscache.New(redisClient(t, addr), rediscache.Options{Prefix: p}), cachedstore.Options{Log: quiet()})
	b := cachedstore.New(st, rediscache.New(redisClient(t, addr), rediscache.Options{Prefix: p}), cachedstore.Options{Log: quiet()})
	expect(t, "B system", list(t, b, librechat.ScopeSystem, ""), []string{})
	admin := redisClient(t, addr)
	_ = admin.ShutdownNoSave(ctx).Err() // the connection drops: an error is expected
	if err := admin.Ping(ctx).Err(); err == nil {
		t.Fatal("redis-server still answers")
	}
	must(t, a.CreateModelConfig(ctx, newConfig(librechat.ScopeSystem, "", "after", "m")))
	expect(t, "B system with Redis gone", list(t, b, librechat.ScopeSystem, ""), []string{"after=m"})
	workWithout(t, a)
	workWithout(t, b)
}
