package rediscache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/cache"
	"github.com/lcgo/lcgo/shared/cache/cachetest"
	"github.com/lcgo/lcgo/shared/cache/rediscache"
	"github.com/lcgo/lcgo/shared/chat/redisjobs/redistest"
)

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

func TestConformance(t *testing.T) {
	addr := redistest.Start(t)
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		return rediscache.New(client(t, addr), rediscache.Options{Prefix: prefix()})
	})
}

// Two clients with the same prefix see each other's writes, as two
// function instances do.
func TestConformanceTwoClients(t *testing.T) {
	addr := redistest.Start(t)
	ctx := context.Background()
	p := prefix()
	a := rediscache.New(client(t, addr), rediscache.Options{Prefix: p})
	b := rediscache.New(client(t, addr), rediscache.Options{Prefix: p})
	other := rediscache.New(client(t, addr), rediscache.Options{Prefix: prefix()})
	if err := a.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := b.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("b.Get = %q, %v, %v", v, ok, err)
	}
	if _, ok, _ := other.Get(ctx, "k"); ok {
		t.Fatal("a cache under another prefix saw the key")
	}
	if err := b.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Get(ctx, "k"); ok {
		t.Fatal("a still sees the key b deleted")
	}
}

// The prefix is part of the Redis key, and the TTL is set in milliseconds.
func TestKeysAndTTL(t *testing.T) {
	ctx := context.Background()
	rdb := client(t, redistest.Start(t))
	c := rediscache.New(rdb, rediscache.Options{Prefix: "lcgo:cfg:"})
	if err := c.Set(ctx, "a", []byte("1"), 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "b", []byte("2"), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, "lcgo:cfg:a").Result(); err != nil || v != "1" {
		t.Fatalf("raw key: %q, %v", v, err)
	}
	if d, err := rdb.PTTL(ctx, "lcgo:cfg:a").Result(); err != nil || d <= time.Second || d > 1500*time.Millisecond {
		t.Fatalf("PTTL = %v, %v; want about 1.5s", d, err)
	}
	if d, err := rdb.PTTL(ctx, "lcgo:cfg:b").Result(); err != nil || d != -1 {
		t.Fatalf("PTTL without expiry = %v, %v; want -1", d, err)
	}
	if err := c.Delete(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, "lcgo:cfg:a", "lcgo:cfg:b").Result(); err != nil || n != 0 {
		t.Fatalf("after Delete: %d keys, %v", n, err)
	}
}

// A server that is not there is an error, never a hit or a panic.
func TestDownIsAnError(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	c := rediscache.New(rdb, rediscache.Options{})
	if _, ok, err := c.Get(ctx, "k"); err == nil || ok {
		t.Fatalf("Get on a dead address: ok=%v err=%v", ok, err)
	}
	if err := c.Set(ctx, "k", []byte("v"), time.Second); err == nil {
		t.Fatal("Set on a dead address succeeded")
	}
	if err := c.Delete(ctx, "k", "l"); err == nil {
		t.Fatal("Delete on a dead address succeeded")
	}
}
