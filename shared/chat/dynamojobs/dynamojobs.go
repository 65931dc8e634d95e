// Package dynamojobs keeps generation jobs in DynamoDB, in the table of
// shared/store/dynamo, so that every function instance of a deployment
// without Redis sees the same jobs and frames. The layout, the conditional
// writes and what changes without transactions are written down in
// infra/dynamodb.md ("Stream jobs").
//
// Items, in the store's table (PK, SK):
//
//	JOB#<id>  INFO                    the job: user, status, generation, frame counter, TTL
//	JOB#<id>  R#<gen>                 the accepted request of that generation
//	JOB#<id>  F#<gen>#<index>         a frame added by Append (index: 10 digits)
//	JOB#<id>  F#<gen>#E#<tok>#<k>     the k-th frame of the End whose token is tok
//	JOB#<id>  <frame key>#P<n>        parts of a frame over 350 KB (after deflate)
//	JU#<user> J#<id>#<gen>            the user's index of jobs, for Active
//
// Each Create picks a random generation, so the frames of a job never mix
// with those of an earlier job under the same id. Append increments the
// counter with a conditional update (only while the job runs), then writes
// the frame at the index it got. End writes its frames under a token of its
// own and flips the status with a conditional update that records the
// token: in one transaction, or without transactions frames first. Readers
// trust only frames below the counter and the End frames of the recorded
// token, so a losing End's frames are never seen.
//
// DynamoDB has no blocking read: Read polls the INFO item with strongly
// consistent reads, every PollMin while frames arrive, backing off to
// PollMax when none do. A reader in the process that wrote the frame is
// woken at once instead.
//
// The emulators lack TTL, so an item whose ttl has passed reads as absent
// whether or not DynamoDB has deleted it yet.
package dynamojobs

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// Options tune the store. Zero values take the defaults.
type Options struct {
	// Table is the table's full name (dynamo.Options.TableName()).
	// Default dynamo.TableBaseName.
	Table string
	// NoTransactions makes End write its frames, then flip the status,
	// instead of one TransactWriteItems.
	NoTransactions bool
	// Clock decides expiry; nil is the system clock.
	Clock librechat.Clock
	// RunningTTL is how long a running job lives without an Append.
	// Default 30 minutes.
	RunningTTL time.Duration
	// EndedTTL is how long an ended job stays readable. Default 60 s.
	EndedTTL time.Duration
	// RemovedTTL is how long readers already on a removed job can still
	// find where its frames end. Default 30 s.
	RemovedTTL time.Duration
	// FrameTTL is how long frames and requests are kept after they were
	// written (DynamoDB's TTL deletes them). It must exceed the longest
	// generation plus EndedTTL. Default 6 hours.
	FrameTTL time.Duration
	// UserTTL is how long an entry of a user's job index is kept. Default
	// 24 hours; Active ignores entries of jobs that are not running.
	UserTTL time.Duration
	// PollMin and PollMax bound the interval at which a waiting reader
	// polls. Defaults 50 ms and 400 ms.
	PollMin, PollMax time.Duration
	// GapTimeout is how long a reader waits for a frame below the counter
	// that is missing (an Append that got its index but failed to write
	// the frame) before it fails. Default 30 s.
	GapTimeout time.Duration
}

// Jobs is the DynamoDB chat.Jobs.
type Jobs struct {
	db    *dynamodb.Client
	table string
	opt   Options
	local notifier
}

var _ chat.Jobs = (*Jobs)(nil)

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New returns a store on client. The table must exist (dynamo.CreateTables
// or the deployment templates create it).
func New(client *dynamodb.Client, opts Options) *Jobs {
	if opts.Table == "" {
		opts.Table = dynamo.TableBaseName
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.RunningTTL, 30*time.Minute)
	def(&opts.EndedTTL, time.Minute)
	def(&opts.RemovedTTL, 30*time.Second)
	def(&opts.FrameTTL, 6*time.Hour)
	def(&opts.UserTTL, 24*time.Hour)
	def(&opts.PollMin, 50*time.Millisecond)
	def(&opts.PollMax, 400*time.Millisecond)
	def(&opts.GapTimeout, 30*time.Second)
	if opts.PollMax < opts.PollMin {
		opts.PollMax = opts.PollMin
	}
	return &Jobs{db: client, table: opts.Table, opt: opts, local: notifier{m: map[string]*waiters{}}}
}

func (j *Jobs) now() time.Time { return j.opt.Clock.Now() }

// ttlAfter is the epoch second at which an item written now expires after d.
func (j *Jobs) ttlAfter(d time.Duration) int64 {
	ms := j.now().Add(d).UnixMilli()
	return (ms + 999) / 1000
}

// live reports whether it exists and its ttl has not passed.
func (j *Jobs) live(it item) bool {
	return it != nil && (!has(it, aTTL) || getNum(it, aTTL) > j.now().Unix())
}

const msgNotFound = "The generation job does not exist or has expired."

func notFound() error { return librechat.E(librechat.KindNotFound, msgNotFound) }

// gone is the error of Append and End on a job that does not exist: both a
// KindNotFound error and chat.ErrJobEnded.
func gone(op string) error {
	return &librechat.Error{Kind: librechat.KindNotFound, Op: op, Message: msgNotFound, Err: chat.ErrJobEnded}
}

func validID(id string) bool { return id != "" && len(id) <= maxIDBytes }

var endStatuses = map[string]bool{chat.StatusComplete: true, chat.StatusError: true, chat.StatusAborted: true}
