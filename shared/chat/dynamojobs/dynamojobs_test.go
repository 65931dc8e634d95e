package dynamojobs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/chat/dynamojobs"
	"github.com/lcgo/lcgo/shared/chat/jobstest"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/dynamo/dynamotest"
)

// minidyn starts an in-process minidyn behind wrap (nil: none) and returns
// its URL.
func minidyn(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = server.NewServer()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// forbidTransactions fails the test on any TransactWriteItems request.
func forbidTransactions(t *testing.T) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") {
				t.Errorf("TransactWriteItems called with NoTransactions")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// endpoint is the URL a client was built for.
func endpoint(c *dynamodb.Client) string { return aws.ToString(c.Options().BaseEndpoint) }

func open(t *testing.T, url string, base dynamo.Options) func(t *testing.T) (chat.Jobs, chat.Jobs) {
	setup := dynamotest.Client(url)
	return func(t *testing.T) (chat.Jobs, chat.Jobs) {
		opts := dynamotest.NewTable(t, setup, base)
		mk := func() chat.Jobs {
			return dynamojobs.New(dynamotest.Client(url), dynamojobs.Options{Table: opts.TableName(), NoTransactions: base.NoTransactions})
		}
		return mk(), mk()
	}
}

func one(open func(t *testing.T) (chat.Jobs, chat.Jobs)) func(t *testing.T) chat.Jobs {
	return func(t *testing.T) chat.Jobs {
		j, _ := open(t)
		return j
	}
}

func TestConformanceMinidyn(t *testing.T) {
	o := open(t, minidyn(t, nil), dynamo.Options{})
	t.Run("One", func(t *testing.T) { jobstest.Run(t, one(o)) })
	t.Run("Shared", func(t *testing.T) { jobstest.RunShared(t, o) })
}

func TestConformanceMinidynNoTransactions(t *testing.T) {
	o := open(t, minidyn(t, forbidTransactions(t)), dynamo.Options{NoTransactions: true})
	t.Run("One", func(t *testing.T) { jobstest.Run(t, one(o)) })
	t.Run("Shared", func(t *testing.T) { jobstest.RunShared(t, o) })
}

func TestConformanceDynalite(t *testing.T) {
	o := open(t, endpoint(dynamotest.Dynalite(t)), dynamo.Options{NoTransactions: true})
	t.Run("One", func(t *testing.T) { jobstest.Run(t, one(o)) })
	t.Run("Shared", func(t *testing.T) { jobstest.RunShared(t, o) })
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

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newJobs(t *testing.T, url string, opts dynamojobs.Options) (*dynamojobs.Jobs, *dynamodb.Client, string) {
	t.Helper()
	c := dynamotest.Client(url)
	table := dynamotest.NewTable(t, c, dynamo.Options{}).TableName()
	opts.Table = table
	return dynamojobs.New(c, opts), c, table
}

// Expiry is read from the ttl attribute, not left to DynamoDB's sweeper
// (the emulators have none).
func TestExpiry(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Now()}
	j, _, _ := newJobs(t, minidyn(t, nil), dynamojobs.Options{Clock: c, PollMin: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	for _, id := range []string{"run", "err"} {
		if err := j.Create(ctx, chat.JobInfo{ID: id, UserID: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.End(ctx, "err", chat.StatusError); err != nil {
		t.Fatal(err)
	}
	c.advance(59 * time.Second)
	if _, err := j.Info(ctx, "err"); err != nil {
		t.Fatalf("ended job before its retention: %v", err)
	}
	c.advance(2 * time.Second)
	if _, err := j.Info(ctx, "err"); !librechat.IsNotFound(err) {
		t.Fatalf("ended job after 61 s: %v, want not found", err)
	}
	// Appends keep a running job alive; without them it expires.
	for range 3 {
		c.advance(20 * time.Minute)
		if err := j.Append(ctx, "run", chat.Frame{Event: "message", Data: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	if ids, err := j.Active(ctx, "u"); err != nil || len(ids) != 1 {
		t.Fatalf("Active = %v, %v", ids, err)
	}

	got := make(chan int, 8)
	done := make(chan error, 1)
	go func() {
		done <- j.Read(ctx, "run", 0, func(i int, _ chat.Frame) error {
			got <- i
			return nil
		})
	}()
	for range 3 {
		<-got
	}
	c.advance(31 * time.Minute)
	select {
	case err := <-done:
		if !librechat.IsNotFound(err) {
			t.Fatalf("Read of an expired job = %v, want not found", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not notice that its job expired")
	}
	if err := j.Append(ctx, "run", chat.Frame{Data: json.RawMessage(`1`)}); !errors.Is(err, chat.ErrJobEnded) {
		t.Fatalf("Append to an expired job = %v", err)
	}
	if ids, err := j.Active(ctx, "u"); err != nil || len(ids) != 0 {
		t.Fatalf("Active after expiry = %v, %v", ids, err)
	}
	// An expired running job can be replaced.
	if err := j.Create(ctx, chat.JobInfo{ID: "run", UserID: "v"}); err != nil {
		t.Fatalf("Create over an expired job: %v", err)
	}
}

// Frames and requests over DynamoDB's 400 KB item limit are deflated and,
// when still too large, split into parts.
func TestLargeFrames(t *testing.T) {
	for _, srv := range []struct {
		name string
		url  func(t *testing.T) string
		noTx bool
	}{
		{"minidyn", func(t *testing.T) string { return minidyn(t, nil) }, false},
		{"dynalite", func(t *testing.T) string { return endpoint(dynamotest.Dynalite(t)) }, true},
	} {
		t.Run(srv.name, func(t *testing.T) {
			ctx := t.Context()
			j, c, table := newJobs(t, srv.url(t), dynamojobs.Options{NoTransactions: srv.noTx})
			random := make([]byte, 400_000)
			_, _ = rand.Read(random)
			big := func(tag string) json.RawMessage {
				return json.RawMessage(`{"t":"` + tag + hexOf(random) + `"}`)
			}
			req := big("req")
			if err := j.Create(ctx, chat.JobInfo{ID: "c", UserID: "u", Request: req}); err != nil {
				t.Fatal(err)
			}
			info, err := j.Info(ctx, "c")
			if err != nil || !bytes.Equal(info.Request, req) {
				t.Fatalf("Info: %v (request intact: %v)", err, err == nil && bytes.Equal(info.Request, req))
			}
			want := []chat.Frame{{Event: "message", Data: big("a")}, {Event: "message", Data: json.RawMessage(`1`)}, {Event: "message", Data: big("e")}}
			if err := j.Append(ctx, "c", want[0]); err != nil {
				t.Fatal(err)
			}
			if err := j.End(ctx, "c", chat.StatusComplete, want[1:]...); err != nil {
				t.Fatal(err)
			}
			parts := 0
			err = scanAll(t, c, table, func(it map[string]types.AttributeValue) {
				if _, ok := it["pt"]; ok {
					parts++
				}
			})
			if err != nil || parts < 6 {
				t.Fatalf("%d part items (%v), want the request and two frames split", parts, err)
			}
			var got []chat.Frame
			err = j.Read(ctx, "c", 0, func(_ int, f chat.Frame) error {
				got = append(got, f)
				return nil
			})
			if err != nil || len(got) != len(want) {
				t.Fatalf("Read: %v, %d frames", err, len(got))
			}
			for i := range want {
				if !bytes.Equal(got[i].Data, want[i].Data) {
					t.Fatalf("frame %d differs", i)
				}
			}
		})
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// A frame whose Append took an index but never wrote it stops readers
// after GapTimeout instead of hanging them.
func TestGap(t *testing.T) {
	ctx := t.Context()
	url := minidyn(t, nil)
	j, c, table := newJobs(t, url, dynamojobs.Options{PollMin: 5 * time.Millisecond, PollMax: 10 * time.Millisecond, GapTimeout: 200 * time.Millisecond})
	if err := j.Create(ctx, chat.JobInfo{ID: "g", UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	// Take index 0 as Append does, without writing the frame.
	_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &table,
		Key:                       map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "JOB#g"}, "SK": &types.AttributeValueMemberS{Value: "INFO"}},
		UpdateExpression:          aws.String("SET a = a + :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, "g", chat.Frame{Event: "message", Data: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = j.Read(ctx, "g", 0, func(int, chat.Frame) error { return nil })
	if librechat.KindOf(err) != librechat.KindUnavailable {
		t.Fatalf("Read over a gap = %v, want unavailable", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the gap held the reader too long")
	}
	// From index 1 on there is no gap.
	n := 0
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_ = j.Read(rctx, "g", 1, func(int, chat.Frame) error { n++; return nil })
	if n != 1 {
		t.Fatalf("Read from 1 got %d frames, want 1", n)
	}
}

// A reader on another instance sees frames within the polling interval.
func TestPollLatency(t *testing.T) {
	ctx := t.Context()
	url := minidyn(t, nil)
	w, _, table := newJobs(t, url, dynamojobs.Options{})
	r := dynamojobs.New(dynamotest.Client(url), dynamojobs.Options{Table: table})
	if err := w.Create(ctx, chat.JobInfo{ID: "p", UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 16)
	go func() {
		_ = r.Read(ctx, "p", 0, func(int, chat.Frame) error {
			got <- time.Now()
			return nil
		})
	}()
	var worst time.Duration
	for range 5 {
		time.Sleep(600 * time.Millisecond) // the reader backs off to its maximum
		sent := time.Now()
		if err := w.Append(ctx, "p", chat.Frame{Event: "message", Data: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-got:
			worst = max(worst, at.Sub(sent))
		case <-time.After(5 * time.Second):
			t.Fatal("frame not delivered")
		}
	}
	if worst > 2*time.Second {
		t.Fatalf("worst delivery %v", worst)
	}
	t.Logf("worst delivery to a reader on another instance after an idle wait: %v", worst)
	if err := w.End(ctx, "p", chat.StatusComplete); err != nil {
		t.Fatal(err)
	}
}

// Concurrent Ends on real DynamoDB may cancel transactions for contention;
// End retries them.
func TestEndRetriesContention(t *testing.T) {
	var cancelled atomic.Int32
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") && cancelled.Add(1) <= 2 {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]","CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	ctx := t.Context()
	j, _, _ := newJobs(t, minidyn(t, wrap), dynamojobs.Options{})
	if err := j.Create(ctx, chat.JobInfo{ID: "x", UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := j.End(ctx, "x", chat.StatusComplete, chat.Frame{Event: "message", Data: json.RawMessage(`1`)}); err != nil {
		t.Fatalf("End after two contention cancellations: %v", err)
	}
	if n, err := j.Len(ctx, "x"); err != nil || n != 1 {
		t.Fatalf("Len = %d, %v", n, err)
	}
}

// scanAll calls fn with every item of the table (tests only).
func scanAll(t *testing.T, c *dynamodb.Client, table string, fn func(map[string]types.AttributeValue)) error {
	t.Helper()
	in := &dynamodb.ScanInput{TableName: &table}
	for {
		out, err := c.Scan(t.Context(), in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			fn(it)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// The user's index never loses a running job and never lists a job that
// is not running: a refused Create removes only its own entry, and
// entries left by an interrupted Create are ignored, then dropped.
func TestActiveIndex(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Now()}
	j, client, table := newJobs(t, minidyn(t, nil), dynamojobs.Options{Clock: c})
	if err := j.Create(ctx, chat.JobInfo{ID: "a", UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Create(ctx, chat.JobInfo{ID: "a", UserID: "u"}); librechat.KindOf(err) != librechat.KindConflict {
		t.Fatalf("second Create = %v, want a conflict", err)
	}
	// An entry whose Create never wrote the job, as a crash leaves it.
	entry := func(id, gen string, at time.Time) {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "JU#u"}, "SK": &types.AttributeValueMemberS{Value: "J#" + id + "#" + gen},
			"id": &types.AttributeValueMemberS{Value: id}, "gen": &types.AttributeValueMemberS{Value: gen},
			"at": &types.AttributeValueMemberN{Value: strconv.FormatInt(at.UnixMilli(), 10)},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	entry("a", "0123", c.Now())
	entry("ghost", "4567", c.Now())
	check := func(want ...string) {
		t.Helper()
		ids, err := j.Active(ctx, "u")
		if err != nil || !slices.Equal(ids, want) {
			t.Fatalf("Active = %v, %v, want %v", ids, err, want)
		}
	}
	entries := func() int {
		t.Helper()
		n := 0
		if err := scanAll(t, client, table, func(it map[string]types.AttributeValue) {
			if pk, _ := it["PK"].(*types.AttributeValueMemberS); pk != nil && pk.Value == "JU#u" {
				n++
			}
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	check("a")
	if n := entries(); n != 3 {
		t.Fatalf("%d index entries, want 3 (young stale entries are kept)", n)
	}
	c.advance(2 * time.Minute)
	if err := j.Append(ctx, "a", chat.Frame{Event: "message", Data: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	check("a")
	if n := entries(); n != 1 {
		t.Fatalf("%d index entries, want 1 (stale ones dropped)", n)
	}
	if err := j.End(ctx, "a", chat.StatusComplete); err != nil {
		t.Fatal(err)
	}
	check()
	if n := entries(); n != 0 {
		t.Fatalf("%d index entries after End, want 0", n)
	}
}
