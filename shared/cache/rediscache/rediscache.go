// Package rediscache is a cache.Cache in Redis, shared by every process
// that uses the same server and prefix: GET, SET with PX, DEL.
package rediscache

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/cache"
)

// Options configure a Cache.
type Options struct {
	// Prefix is put before every key, e.g. "lcgo:cfg:".
	Prefix string
}

// Cache is a cache.Cache over a Redis client (a single server, a cluster
// or a failover set). Build one with New.
type Cache struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ cache.Cache = (*Cache)(nil)

// New returns a cache over rdb. The caller keeps rdb and closes it.
func New(rdb redis.UniversalClient, opts Options) *Cache {
	return &Cache{rdb: rdb, prefix: opts.Prefix}
}

// Get reads the key; a missing key is a miss, not an error.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := c.rdb.Get(ctx, c.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, true, nil
}

// Set writes the key with SET … PX (milliseconds, rounded up), or without
// an expiry when ttl <= 0.
func (c *Cache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	args := []any{"set", c.prefix + key, val}
	if ttl > 0 {
		ms := (ttl + time.Millisecond - 1) / time.Millisecond
		args = append(args, "px", int64(ms))
	}
	cmd := redis.NewStatusCmd(ctx, args...)
	_ = c.rdb.Process(ctx, cmd)
	return cmd.Err()
}

// Delete removes the keys: one DEL, or one DEL per key in a pipeline when
// there are several, so that keys in different cluster slots can go
// together.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	switch len(keys) {
	case 0:
		return nil
	case 1:
		return c.rdb.Del(ctx, c.prefix+keys[0]).Err()
	}
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, c.prefix+k)
		}
		return nil
	})
	return err
}
