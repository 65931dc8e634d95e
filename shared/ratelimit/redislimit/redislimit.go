// Package redislimit is a ratelimit.Limiter shared by every process that
// uses the same Redis: login lockout and registration limits hold across
// function instances.
package redislimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/ratelimit"
)

// hit counts one attempt in a fixed window that starts with the first
// attempt: the counter expires when the window ends.
var hit = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// Limiter counts in Redis under Prefix + key.
type Limiter struct {
	client redis.UniversalClient
	prefix string
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a limiter; prefix defaults to "lcgo:rl:".
func New(client redis.UniversalClient, prefix string) *Limiter {
	if prefix == "" {
		prefix = "lcgo:rl:"
	}
	return &Limiter{client: client, prefix: prefix}
}

// Hit implements ratelimit.Limiter.
func (l *Limiter) Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	ms := window.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	res, err := hit.Run(ctx, l.client, []string{l.prefix + key}, ms).Int64Slice()
	if err != nil {
		return false, 0, librechat.Wrap(librechat.KindUnavailable, "redislimit.Hit", err)
	}
	if len(res) != 2 {
		return false, 0, librechat.E(librechat.KindOther, "redislimit.Hit: unexpected reply")
	}
	if res[0] > int64(limit) {
		return false, time.Duration(res[1]) * time.Millisecond, nil
	}
	return true, 0, nil
}
