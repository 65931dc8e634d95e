// Package cachetest is the suite every cache.Cache passes unchanged.
//
// Expiry is checked in real time with short TTLs (a few hundred
// milliseconds) and polling, so that a cache whose clock is not the
// test's (Redis) passes the same checks.
package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/cache"
)

// Short is the TTL the expiry checks use; an entry set with it must be
// readable at once and gone within expireWithin.
const (
	Short        = 150 * time.Millisecond
	expireWithin = 5 * time.Second
	long         = time.Hour
)

// Run runs the suite; newCache returns an empty cache for each subtest
// (for a shared cache, one under a fresh prefix).
func Run(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	t.Run("Miss", func(t *testing.T) {
		c := newCache(t)
		v, ok, err := c.Get(t.Context(), "absent")
		if err != nil || ok || v != nil {
			t.Fatalf("Get(absent) = %q, %v, %v; want nil, false, nil", v, ok, err)
		}
	})
	t.Run("SetGet", func(t *testing.T) {
		c := newCache(t)
		set(t, c, "k", []byte("value"), long)
		want(t, c, "k", []byte("value"))
	})
	t.Run("Overwrite", func(t *testing.T) {
		c := newCache(t)
		set(t, c, "k", []byte("first"), long)
		set(t, c, "k", []byte("second, longer"), long)
		want(t, c, "k", []byte("second, longer"))
		set(t, c, "k", []byte("3"), long)
		want(t, c, "k", []byte("3"))
	})
	t.Run("Delete", func(t *testing.T) {
		c := newCache(t)
		ctx := t.Context()
		for _, k := range []string{"a", "b", "c", "d"} {
			set(t, c, k, []byte("v"+k), long)
		}
		if err := c.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "b", "absent", "c"); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx); err != nil {
			t.Fatalf("Delete with no keys: %v", err)
		}
		if err := c.Delete(ctx, "absent"); err != nil {
			t.Fatalf("Delete(absent): %v", err)
		}
		for _, k := range []string{"a", "b", "c"} {
			miss(t, c, k)
		}
		want(t, c, "d", []byte("vd"))
		set(t, c, "a", []byte("again"), long)
		want(t, c, "a", []byte("again"))
	})
	t.Run("DistinctKeys", func(t *testing.T) {
		c := newCache(t)
		keys := []string{"a", "A", "a:", ":a", "a b", "ä", "a/b", "a\x00b", strings.Repeat("k", 300)}
		for i, k := range keys {
			set(t, c, k, []byte(fmt.Sprint(i)), long)
		}
		for i, k := range keys {
			want(t, c, k, []byte(fmt.Sprint(i)))
		}
	})
	t.Run("EmptyValue", func(t *testing.T) {
		c := newCache(t)
		set(t, c, "empty", []byte{}, long)
		set(t, c, "nil", nil, long)
		want(t, c, "empty", []byte{})
		want(t, c, "nil", []byte{})
	})
	t.Run("BinaryValue", func(t *testing.T) {
		c := newCache(t)
		v := make([]byte, 0, 512)
		for i := range 256 {
			v = append(v, byte(i))
		}
		v = append(v, 0, 0, '\r', '\n', 0xff, 0xfe, 0xc3) // invalid UTF-8 too
		set(t, c, "bin", v, long)
		want(t, c, "bin", v)
	})
	t.Run("LargeValue", func(t *testing.T) {
		c := newCache(t)
		v := make([]byte, 4<<20)
		_, _ = rand.Read(v)
		set(t, c, "large", v, long)
		want(t, c, "large", v)
	})
	t.Run("Copies", func(t *testing.T) {
		c := newCache(t)
		in := []byte("original")
		set(t, c, "k", in, long)
		copy(in, "XXXXXXXX")
		got := want(t, c, "k", []byte("original"))
		copy(got, "YYYYYYYY")
		want(t, c, "k", []byte("original"))
	})
	t.Run("NoExpiry", func(t *testing.T) {
		c := newCache(t)
		set(t, c, "zero", []byte("z"), 0)
		set(t, c, "negative", []byte("n"), -time.Second)
		want(t, c, "zero", []byte("z"))
		want(t, c, "negative", []byte("n"))
	})
	t.Run("Expiry", func(t *testing.T) {
		c := newCache(t)
		start := time.Now()
		set(t, c, "short", []byte("s"), Short)
		set(t, c, "long", []byte("l"), long)
		want(t, c, "short", []byte("s"))
		gone := waitMiss(t, c, "short")
		if lived := gone.Sub(start); lived < Short*9/10 {
			t.Errorf("a %v entry expired after %v", Short, lived)
		}
		want(t, c, "long", []byte("l"))
		// An expired key can be set again.
		set(t, c, "short", []byte("s2"), long)
		want(t, c, "short", []byte("s2"))
	})
	t.Run("OverwriteReplacesTTL", func(t *testing.T) {
		c := newCache(t)
		// "longer" was set short first, then again for long; "witness",
		// set short after both, expires after "longer"'s first TTL would have.
		set(t, c, "longer", []byte("1"), Short)
		set(t, c, "longer", []byte("2"), long)
		set(t, c, "shorter", []byte("1"), long)
		set(t, c, "shorter", []byte("2"), Short)
		set(t, c, "witness", []byte("w"), Short)
		waitMiss(t, c, "witness")
		want(t, c, "longer", []byte("2"))
		miss(t, c, "shorter")
	})
	t.Run("Concurrent", func(t *testing.T) {
		c := newCache(t)
		ctx := t.Context()
		const workers, ops, keys = 8, 200, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for n := range ops {
					k := fmt.Sprintf("k%d", (w+n)%keys)
					var err error
					switch n % 4 {
					case 0, 1:
						err = c.Set(ctx, k, []byte(fmt.Sprintf("%s=%d-%d", k, w, n)), long)
					case 2:
						var v []byte
						var ok bool
						v, ok, err = c.Get(ctx, k)
						if err == nil && ok && !bytes.HasPrefix(v, []byte(k+"=")) {
							err = fmt.Errorf("Get(%s) = %q: another key's value", k, v)
						}
					case 3:
						err = c.Delete(ctx, k, fmt.Sprintf("k%d", (w+n+1)%keys))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// Every key ends up either absent or holding one of its own values.
		for i := range keys {
			k := fmt.Sprintf("k%d", i)
			v, ok, err := c.Get(ctx, k)
			if err != nil || (ok && !bytes.HasPrefix(v, []byte(k+"="))) {
				t.Errorf("after the run, Get(%s) = %q, %v, %v", k, v, ok, err)
			}
		}
	})
}

func set(t *testing.T, c cache.Cache, key string, val []byte, ttl time.Duration) {
	t.Helper()
	if err := c.Set(context.Background(), key, val, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// want checks that key holds val and returns what Get returned.
func want(t *testing.T, c cache.Cache, key string, val []byte) []byte {
	t.Helper()
	got, ok, err := c.Get(context.Background(), key)
	if err != nil || !ok || !bytes.Equal(got, val) || got == nil {
		t.Fatalf("Get(%q) = %s, %v, %v; want %s, true, nil", key, short(got), ok, err, short(val))
	}
	return got
}

func miss(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	got, ok, err := c.Get(context.Background(), key)
	if err != nil || ok {
		t.Fatalf("Get(%q) = %s, %v, %v; want a miss", key, short(got), ok, err)
	}
}

// waitMiss polls until key is a miss and returns when it saw that.
func waitMiss(t *testing.T, c cache.Cache, key string) time.Time {
	t.Helper()
	deadline := time.Now().Add(expireWithin)
	for {
		_, ok, err := c.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("Get(%q): %v", key, err)
		}
		now := time.Now()
		if !ok {
			return now
		}
		if now.After(deadline) {
			t.Fatalf("%q set with a %v TTL still there after %v", key, Short, expireWithin)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func short(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q… (%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}
