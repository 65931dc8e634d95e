// Package app holds the one value every area is built from: configuration,
// storage, clock, id generator, rate limiter, mailer, HTTP client and
// cache. It is built once at start (see shared/setup) and passed to each
// area's New.
package app

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lcgo/lcgo/shared/cache"
	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/mail"
	"github.com/lcgo/lcgo/shared/ratelimit"
)

// App is the state that lives across requests.
type App struct {
	Config  *config.Config
	Store   librechat.Store
	Clock   librechat.Clock
	IDs     librechat.IDs
	Limiter ratelimit.Limiter
	Mailer  mail.Mailer
	HTTP    *http.Client
	Log     *slog.Logger
	// Jobs holds chat generation jobs; nil until the chat area builds an
	// in-memory one (setup sets Redis when REDIS_URI is given).
	Jobs chat.Jobs
	// Cache keeps derived data between requests (fetched model lists):
	// Redis, shared by every instance, when REDIS_URI is given, else one
	// in the process. nil: each area keeps its own in the process.
	Cache cache.Cache
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// RandomIDs makes ObjectId-shaped and UUID v4 identifiers from crypto/rand.
// ObjectIDs start with the creation time in seconds, like Mongo's.
type RandomIDs struct {
	Clock   librechat.Clock
	counter atomic.Uint32
}

// ObjectID returns 24 lowercase hex characters.
func (g *RandomIDs) ObjectID() string {
	var b [12]byte
	now := time.Now()
	if g.Clock != nil {
		now = g.Clock.Now()
	}
	binary.BigEndian.PutUint32(b[0:4], uint32(now.Unix()))
	_, _ = rand.Read(b[4:9])
	c := g.counter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// UUID returns a random version 4 UUID.
func (g *RandomIDs) UUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
