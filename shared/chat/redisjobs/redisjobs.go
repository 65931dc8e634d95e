// Package redisjobs keeps generation jobs in Redis, so that every process
// of a deployment sees the same jobs and frames.
//
// Key layout, with P the configured prefix:
//
//	P job:{ID}     hash: id, user, status, created, request, gen, n (frames), claimed, beat
//	P frames:{ID}  stream: the frames of the job, then one end marker
//	P user:USER    sorted set: the user's job ids, scored by their gen
//
// Each Create picks a generation number gen, larger than any the id had
// before (Redis server time in milliseconds, bumped when needed). Frame i of
// that job is the stream entry gen-(i+1); its end marker, a single field
// "end" holding the final status, follows the last frame. Entry ids thus map
// straight to frame indexes, and a reader that started on one generation
// never mistakes a later job with the same id for its own. A new job keeps
// the previous generation's entries (readers may still be draining them)
// and trims older ones.
//
// The braces make a job's hash and stream share a cluster hash slot, so
// the Lua scripts that change them run atomically on one node. The user
// index lives in another slot and is kept in sync outside the scripts;
// Active checks every id it lists against the job's hash and drops stale
// ones, so the index may be briefly incomplete but never wrong.
//
// Expiry: a running job's hash and stream expire after RunningTTL without
// an Append; an ended job's after EndedTTL. Remove deletes the hash at once
// (Info, Len and new Reads say not found) and lets the stream live for
// RemovedTTL so that readers already on it can finish.
package redisjobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Options tune the store. Zero values take the defaults.
type Options struct {
	// Prefix starts every key. Default "lcgo:chat:".
	Prefix string
	// RunningTTL is how long a running job lives without an Append.
	// Default 30 minutes.
	RunningTTL time.Duration
	// EndedTTL is how long an ended job stays readable. Default 60 s.
	EndedTTL time.Duration
	// RemovedTTL is how long the frames of a removed job stay for the
	// readers already on them. Default 30 s.
	RemovedTTL time.Duration
	// UserTTL is how long a user's index of jobs lives after their last
	// Create. Default 24 h.
	UserTTL time.Duration
	// Block is the longest a reader waits in one XREAD before checking
	// that its job still exists. Default 5 s.
	Block time.Duration
	// Batch is how many entries a reader fetches at a time. Default 256.
	Batch int
}

// Jobs is the Redis chat.Jobs.
type Jobs struct {
	rdb redis.UniversalClient
	opt Options
}

var _ chat.Jobs = (*Jobs)(nil)

// New returns a store on client.
func New(client redis.UniversalClient, opts Options) *Jobs {
	if opts.Prefix == "" {
		opts.Prefix = "lcgo:chat:"
	}
	if opts.RunningTTL <= 0 {
		opts.RunningTTL = 30 * time.Minute
	}
	if opts.EndedTTL <= 0 {
		opts.EndedTTL = time.Minute
	}
	if opts.RemovedTTL <= 0 {
		opts.RemovedTTL = 30 * time.Second
	}
	if opts.UserTTL <= 0 {
		opts.UserTTL = 24 * time.Hour
	}
	if opts.Block <= 0 {
		opts.Block = 5 * time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	return &Jobs{rdb: client, opt: opts}
}

func (s *Jobs) infoKey(id string) string   { return s.opt.Prefix + "job:{" + id + "}" }
func (s *Jobs) streamKey(id string) string { return s.opt.Prefix + "frames:{" + id + "}" }
func (s *Jobs) userKey(user string) string { return s.opt.Prefix + "user:" + user }

func ms(d time.Duration) int64 { return d.Milliseconds() }

const msgNotFound = "The generation job does not exist or has expired."

func notFound() error { return librechat.E(librechat.KindNotFound, msgNotFound) }

// gone is the error of Append and End on a job that does not exist: both a
// KindNotFound error and chat.ErrJobEnded.
func gone(op string) error {
	return &librechat.Error{Kind: librechat.KindNotFound, Op: op, Message: msgNotFound, Err: chat.ErrJobEnded}
}

func unavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return librechat.Wrap(librechat.KindUnavailable, op, err)
}

var endStatuses = []string{chat.StatusComplete, chat.StatusError, chat.StatusAborted}

// createScript: KEYS info, stream; ARGV id, user, created, request,
// running ttl. Returns the new gen as a string, or -1 when a job with the
// id is running.
var createScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'running' then return -1 end
local t = redis.call('TIME')
local gen = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if gen <= prev then gen = prev + 1 end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then
  local lastgen = string.match(last[1][1], '^(%d+)-')
  if gen <= tonumber(lastgen) then gen = tonumber(lastgen) + 1 end
  redis.call('XTRIM', KEYS[2], 'MINID', lastgen .. '-0')
end
local g = string.format('%.0f', gen)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'user', ARGV[2], 'status', 'running',
  'created', ARGV[3], 'request', ARGV[4], 'gen', g, 'n', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return g
`)

// claimScript: KEYS info. Returns -1 (no job), 0 or 1.
var claimScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return -1 end
if st ~= 'running' then return 0 end
return redis.call('HSETNX', KEYS[1], 'claimed', 1)
`)

// touchScript: KEYS info; ARGV beat. Returns -1 (no job), 0 (ended) or 1.
var touchScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return -1 end
if st ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'beat', ARGV[1])
return 1
`)

// appendScript: KEYS info, stream; ARGV event, data, running ttl.
// Returns -1 (no job), 0 (ended) or 1.
var appendScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'status', 'gen', 'n')
if not v[1] then return -1 end
if v[1] ~= 'running' then return 0 end
local n = tonumber(v[3]) + 1
redis.call('XADD', KEYS[2], v[2] .. '-' .. string.format('%d', n), 'e', ARGV[1], 'd', ARGV[2])
redis.call('HSET', KEYS[1], 'n', n)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`)

// endScript: KEYS info, stream; ARGV status, ended ttl, then event and
// data of each frame. Returns {-1} (no job), {0} (ended) or {1, user, gen}.
var endScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'status', 'gen', 'n', 'user')
if not v[1] then return {-1} end
if v[1] ~= 'running' then return {0} end
local n = tonumber(v[3])
for i = 3, #ARGV, 2 do
  n = n + 1
  redis.call('XADD', KEYS[2], v[2] .. '-' .. string.format('%d', n), 'e', ARGV[i], 'd', ARGV[i + 1])
end
redis.call('XADD', KEYS[2], v[2] .. '-' .. string.format('%d', n + 1), 'end', ARGV[1])
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'n', n)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {1, v[4], v[2]}
`)

// removeScript: KEYS info, stream; ARGV removed ttl. A running job gets an
// "aborted" end marker first. Returns {0} (no job) or {1, user, gen}.
var removeScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'status', 'gen', 'n', 'user')
if not v[1] then return {0} end
if v[1] == 'running' then
  redis.call('XADD', KEYS[2], v[2] .. '-' .. string.format('%d', tonumber(v[3]) + 1), 'end', 'aborted')
end
redis.call('DEL', KEYS[1])
local ttl = redis.call('PTTL', KEYS[2])
if ttl == -1 or ttl > tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return {1, v[4], v[2]}
`)

// unindexScript: KEYS user index; ARGV id, gen. Removes the id only if it
// is still indexed with that gen, so that it never drops a newer job.
var unindexScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`)

// Create implements chat.Jobs.
func (s *Jobs) Create(ctx context.Context, info chat.JobInfo) error {
	if info.ID == "" {
		return librechat.E(librechat.KindInvalid, "job id is required")
	}
	created, err := info.CreatedAt.MarshalText()
	if err != nil {
		return librechat.Wrap(librechat.KindInvalid, "redisjobs.Create", err)
	}
	res, err := createScript.Run(ctx, s.rdb,
		[]string{s.infoKey(info.ID), s.streamKey(info.ID)},
		info.ID, info.UserID, string(created), string(info.Request), ms(s.opt.RunningTTL)).Result()
	if err != nil {
		return unavailable("redisjobs.Create", err)
	}
	gen, ok := res.(string)
	if !ok {
		return librechat.E(librechat.KindConflict, "a generation is already running for this conversation")
	}
	score, err := strconv.ParseFloat(gen, 64)
	if err != nil {
		return librechat.Wrap(librechat.KindOther, "redisjobs.Create", err)
	}
	uk := s.userKey(info.UserID)
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, uk, redis.Z{Score: score, Member: info.ID})
		p.PExpire(ctx, uk, s.opt.UserTTL)
		return nil
	})
	if err != nil {
		return unavailable("redisjobs.Create", err)
	}
	return nil
}

// Info implements chat.Jobs.
func (s *Jobs) Info(ctx context.Context, id string) (*chat.JobInfo, error) {
	v, err := s.rdb.HMGet(ctx, s.infoKey(id), "user", "status", "created", "request", "beat").Result()
	if err != nil {
		return nil, unavailable("redisjobs.Info", err)
	}
	if v[1] == nil {
		return nil, notFound()
	}
	info := &chat.JobInfo{ID: id, UserID: str(v[0]), Status: str(v[1])}
	if c := str(v[2]); c != "" {
		if err := info.CreatedAt.UnmarshalText([]byte(c)); err != nil {
			return nil, librechat.Wrap(librechat.KindOther, "redisjobs.Info", err)
		}
	}
	if r := str(v[3]); r != "" {
		info.Request = json.RawMessage(r)
	}
	if b := str(v[4]); b != "" {
		if err := info.Beat.UnmarshalText([]byte(b)); err != nil {
			return nil, librechat.Wrap(librechat.KindOther, "redisjobs.Info", err)
		}
	}
	return info, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Claim implements chat.Jobs. A job that ended before anyone claimed it
// is never claimed.
func (s *Jobs) Claim(ctx context.Context, id string) (bool, error) {
	n, err := claimScript.Run(ctx, s.rdb, []string{s.infoKey(id)}).Int64()
	if err != nil {
		return false, unavailable("redisjobs.Claim", err)
	}
	if n < 0 {
		return false, notFound()
	}
	return n == 1, nil
}

// Touch implements chat.Jobs.
func (s *Jobs) Touch(ctx context.Context, id string, at time.Time) error {
	beat, err := at.MarshalText()
	if err != nil {
		return librechat.Wrap(librechat.KindInvalid, "redisjobs.Touch", err)
	}
	n, err := touchScript.Run(ctx, s.rdb, []string{s.infoKey(id)}, string(beat)).Int64()
	if err != nil {
		return unavailable("redisjobs.Touch", err)
	}
	switch n {
	case 1:
		return nil
	case 0:
		return chat.ErrJobEnded
	}
	return gone("redisjobs.Touch")
}

// Append implements chat.Jobs.
func (s *Jobs) Append(ctx context.Context, id string, f chat.Frame) error {
	n, err := appendScript.Run(ctx, s.rdb, []string{s.infoKey(id), s.streamKey(id)},
		f.Event, []byte(f.Data), ms(s.opt.RunningTTL)).Int64()
	if err != nil {
		return unavailable("redisjobs.Append", err)
	}
	switch n {
	case 1:
		return nil
	case 0:
		return chat.ErrJobEnded
	}
	return gone("redisjobs.Append")
}

// End implements chat.Jobs.
func (s *Jobs) End(ctx context.Context, id, status string, frames ...chat.Frame) error {
	if !slices.Contains(endStatuses, status) {
		return librechat.E(librechat.KindInvalid, "invalid final job status %q", status)
	}
	args := make([]any, 0, 2+2*len(frames))
	args = append(args, status, ms(s.opt.EndedTTL))
	for _, f := range frames {
		args = append(args, f.Event, []byte(f.Data))
	}
	res, err := endScript.Run(ctx, s.rdb, []string{s.infoKey(id), s.streamKey(id)}, args...).Slice()
	if err != nil {
		return unavailable("redisjobs.End", err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		s.unindex(ctx, res, id)
		return nil
	case 0:
		return chat.ErrJobEnded
	}
	return gone("redisjobs.End")
}

// unindex drops id from its user's index after End or Remove. res is the
// script's {1, user, gen}. A failure only leaves a stale entry that Active
// drops later.
func (s *Jobs) unindex(ctx context.Context, res []any, id string) {
	if len(res) < 3 {
		return
	}
	user, gen := str(res[1]), str(res[2])
	_ = unindexScript.Run(ctx, s.rdb, []string{s.userKey(user)}, id, gen).Err()
}

// Len implements chat.Jobs.
func (s *Jobs) Len(ctx context.Context, id string) (int, error) {
	v, err := s.rdb.HGet(ctx, s.infoKey(id), "n").Result()
	if errors.Is(err, redis.Nil) {
		return 0, notFound()
	}
	if err != nil {
		return 0, unavailable("redisjobs.Len", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, librechat.Wrap(librechat.KindOther, "redisjobs.Len", err)
	}
	return n, nil
}

// Active implements chat.Jobs. The ids are sorted.
func (s *Jobs) Active(ctx context.Context, userID string) ([]string, error) {
	uk := s.userKey(userID)
	members, err := s.rdb.ZRangeWithScores(ctx, uk, 0, -1).Result()
	if err != nil {
		return nil, unavailable("redisjobs.Active", err)
	}
	ids := []string{}
	if len(members) == 0 {
		return ids, nil
	}
	cmds := make([]*redis.SliceCmd, len(members))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, m := range members {
			cmds[k] = p.HMGet(ctx, s.infoKey(str(m.Member)), "status", "user")
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("redisjobs.Active", err)
	}
	for k, m := range members {
		id := str(m.Member)
		v := cmds[k].Val()
		if str(v[0]) == chat.StatusRunning && str(v[1]) == userID {
			ids = append(ids, id)
			continue
		}
		gen := strconv.FormatFloat(m.Score, 'f', 0, 64)
		_ = unindexScript.Run(ctx, s.rdb, []string{uk}, id, gen).Err()
	}
	slices.Sort(ids)
	return ids, nil
}

// Remove implements chat.Jobs. A running job is first ended as aborted, so
// that its readers return and its generator's next Append fails with
// chat.ErrJobEnded. Removing an unknown job is not an error.
func (s *Jobs) Remove(ctx context.Context, id string) error {
	res, err := removeScript.Run(ctx, s.rdb, []string{s.infoKey(id), s.streamKey(id)}, ms(s.opt.RemovedTTL)).Slice()
	if err != nil {
		return unavailable("redisjobs.Remove", err)
	}
	if code, _ := res[0].(int64); code == 1 {
		s.unindex(ctx, res, id)
	}
	return nil
}

// entry is a parsed stream entry of the reader's generation.
type entry struct {
	gen, seq uint64
	end      bool
	f        chat.Frame
}

func parseEntry(m redis.XMessage) (entry, error) {
	a, b, ok := strings.Cut(m.ID, "-")
	gen, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return entry{}, fmt.Errorf("redisjobs: bad stream entry id %q", m.ID)
	}
	e := entry{gen: gen, seq: seq}
	if _, ok := m.Values["end"]; ok {
		e.end = true
		return e, nil
	}
	e.f = chat.Frame{Event: str(m.Values["e"]), Data: json.RawMessage(str(m.Values["d"]))}
	return e, nil
}

// Read implements chat.Jobs. It reads the backlog with XRANGE, then waits
// with XREAD BLOCK; a wait gives up after Options.Block to check that the
// job still exists, and a cancelled ctx ends Read at once.
func (s *Jobs) Read(ctx context.Context, id string, from int, fn func(i int, f chat.Frame) error) error {
	if from < 0 {
		return librechat.E(librechat.KindInvalid, "negative frame index")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := s.rdb.HMGet(ctx, s.infoKey(id), "gen", "n").Result()
	if err != nil {
		return unavailable("redisjobs.Read", err)
	}
	if v[0] == nil {
		return notFound()
	}
	gen, err1 := strconv.ParseUint(str(v[0]), 10, 64)
	n, err2 := strconv.ParseUint(str(v[1]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return librechat.Wrap(librechat.KindOther, "redisjobs.Read", err)
	}
	r := reader{
		s:       s,
		key:     s.streamKey(id),
		infoKey: s.infoKey(id),
		gen:     gen,
		from:    uint64(from),
		next:    uint64(from),
		pos:     min(uint64(from), n),
		fn:      fn,
	}
	err = r.run(ctx)
	if errors.Is(err, errDone) {
		return nil
	}
	return err
}

// reader follows the stream entries of one generation of a job.
type reader struct {
	s       *Jobs
	key     string
	infoKey string
	gen     uint64
	from    uint64 // frames before this one are skipped
	next    uint64 // index of the next frame to pass to fn
	pos     uint64 // sequence number of the last entry seen
	fn      func(int, chat.Frame) error
}

// errDone stops the reader at the end marker of its job.
var errDone = errors.New("done")

func (r *reader) run(ctx context.Context) error {
	if err := r.backlog(ctx); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		msgs, err := r.wait(ctx)
		if err != nil {
			return err
		}
		if msgs == nil {
			err = r.check(ctx)
		} else {
			err = r.deliver(msgs)
		}
		if err != nil {
			return err
		}
	}
}

// backlog passes the entries already in the stream to deliver.
func (r *reader) backlog(ctx context.Context) error {
	last := strconv.FormatUint(r.gen, 10)
	for {
		start := fmt.Sprintf("%d-%d", r.gen, r.pos+1)
		msgs, err := r.s.rdb.XRangeN(ctx, r.key, start, last, int64(r.s.opt.Batch)).Result()
		if err != nil {
			return unavailable("redisjobs.Read", err)
		}
		if err := r.deliver(msgs); err != nil {
			return err
		}
		if len(msgs) < r.s.opt.Batch {
			return nil
		}
	}
}

// deliver passes the frames among msgs to fn in order, and returns errDone
// at the end marker.
func (r *reader) deliver(msgs []redis.XMessage) error {
	for _, m := range msgs {
		e, err := parseEntry(m)
		if err != nil {
			return err
		}
		if e.gen != r.gen || e.end {
			// The end marker, or a later job with this id: this job ended.
			return errDone
		}
		if e.seq != r.pos+1 {
			return librechat.Wrap(librechat.KindOther, "redisjobs.Read",
				fmt.Errorf("entry %d-%d missing from %s (next is %s)", r.gen, r.pos+1, r.key, m.ID))
		}
		r.pos = e.seq
		if e.seq <= r.from {
			continue
		}
		if err := r.fn(int(r.next), e.f); err != nil {
			return err
		}
		r.next++
	}
	return nil
}

// wait blocks for entries after the last one seen. It returns nil, nil
// when Options.Block passed with none. A cancelled ctx returns at once;
// the XREAD then ends on its own within Options.Block.
func (r *reader) wait(ctx context.Context) ([]redis.XMessage, error) {
	type result struct {
		streams []redis.XStream
		err     error
	}
	ch := make(chan result, 1)
	args := &redis.XReadArgs{
		Streams: []string{r.key, fmt.Sprintf("%d-%d", r.gen, r.pos)},
		Count:   int64(r.s.opt.Batch),
		Block:   r.s.opt.Block,
	}
	go func() {
		st, err := r.s.rdb.XRead(ctx, args).Result()
		ch <- result{st, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if errors.Is(res.err, redis.Nil) {
			return nil, nil
		}
		if res.err != nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, unavailable("redisjobs.Read", res.err)
		}
		msgs := []redis.XMessage{}
		for _, st := range res.streams {
			msgs = append(msgs, st.Messages...)
		}
		return msgs, nil
	}
}

// check runs when a wait found nothing: it returns nil while the job is
// still there, and a KindNotFound error when it vanished without an end
// marker for the reader to reach (it expired).
func (r *reader) check(ctx context.Context) error {
	g := strconv.FormatUint(r.gen, 10)
	cur, err := r.s.rdb.HGet(ctx, r.infoKey, "gen").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("redisjobs.Read", err)
	}
	if cur == g {
		return nil
	}
	// Remove writes the end marker in the step that deletes the hash, so
	// it is in the stream now if it will ever be.
	last, err := r.s.rdb.XRevRangeN(ctx, r.key, g, g+"-0", 1).Result()
	if err != nil {
		return unavailable("redisjobs.Read", err)
	}
	if len(last) == 1 {
		if e, err := parseEntry(last[0]); err == nil && e.end && e.seq > r.pos {
			return nil
		}
	}
	return notFound()
}
