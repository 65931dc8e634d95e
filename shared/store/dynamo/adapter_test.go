package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/dynamo/dynamotest"
)

func bg() context.Context { return context.Background() }

// backend is one server and mode the adapter-specific tests run against.
type backend struct {
	name   string
	client *dynamodb.Client
	opts   dynamo.Options
}

// backends starts minidyn (with and without transactions) and dynalite.
func backends(t *testing.T) []backend {
	t.Helper()
	mini, _ := dynamotest.Minidyn(t, nil)
	return []backend{
		{"minidyn", mini, dynamo.Options{}},
		{"minidyn-notx", mini, dynamo.Options{NoTransactions: true}},
		{"dynalite", dynamotest.Dynalite(t), dynamo.Options{NoTransactions: true}},
	}
}

// forEach runs fn against a fresh table of every backend.
func forEach(t *testing.T, fn func(t *testing.T, b backend, st *dynamo.Store)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st, opts := openOn(t, b.client, b.opts)
			b.opts = opts
			fn(t, b, st)
		})
	}
}

func openOn(t *testing.T, client *dynamodb.Client, base dynamo.Options) (*dynamo.Store, dynamo.Options) {
	t.Helper()
	opts := dynamotest.NewTable(t, client, base)
	st, err := dynamo.Open(bg(), client, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st, opts
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantKind(t *testing.T, err error, kind librechat.Kind, what string) {
	t.Helper()
	if got := librechat.KindOf(err); err == nil || got != kind {
		t.Fatalf("%s: got %v (kind %q), want kind %q", what, err, got, kind)
	}
}

// sortKeys counts the items of a partition whose sort key starts with
// prefix, reading the table directly.
func sortKeys(t *testing.T, b backend, pk, prefix string) []string {
	t.Helper()
	out, err := b.client.Query(bg(), &dynamodb.QueryInput{
		TableName:              aws.String(b.opts.TableName()),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :p)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": dynamo.AttrPK, "#sk": dynamo.AttrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk},
			":p":  &types.AttributeValueMemberS{Value: prefix},
		},
		ConsistentRead: aws.Bool(true),
	})
	must(t, err, "Query "+pk)
	var sks []string
	for _, it := range out.Items {
		sks = append(sks, it[dynamo.AttrSK].(*types.AttributeValueMemberS).Value)
	}
	return sks
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func conv(uid, id, title string, updated time.Time, tags ...string) *librechat.Conversation {
	return &librechat.Conversation{ID: id, UserID: uid, Title: title, Tags: tags, CreatedAt: updated.Add(-time.Hour), UpdatedAt: updated}
}

func listIDs(t *testing.T, st *dynamo.Store, uid string, q librechat.ConversationQuery) ([]string, *librechat.Cursor) {
	t.Helper()
	cs, next, err := st.ListConversations(bg(), uid, q)
	must(t, err, "ListConversations")
	var ids []string
	for _, c := range cs {
		if c.UserID != uid {
			t.Fatalf("ListConversations for %s returned %s of %s", uid, c.ID, c.UserID)
		}
		ids = append(ids, c.ID)
	}
	return ids, next
}

// TestForgedCursor: a cursor only positions a list inside the caller's
// own partition, which comes from the user id; whatever a client puts in
// it, it never reaches another user's conversations.
func TestForgedCursor(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, st *dynamo.Store) {
		for i := range 5 {
			must(t, st.PutConversation(bg(), conv("victim", fmt.Sprintf("secret-%d", i), "Secret", base.Add(time.Duration(i)*time.Minute), "t")), "Put victim")
		}
		must(t, st.PutConversation(bg(), conv("mallory", "own", "Own", base, "t")), "Put mallory")
		victim, err := st.Conversation(bg(), "victim", "secret-2")
		must(t, err, "Conversation")
		accepted := 0
		forged := []librechat.Cursor{
			{Key: victim.UpdatedAt.Format(time.RFC3339Nano), ID: "secret-2"},
			{Key: base.Add(time.Hour).Format(time.RFC3339Nano), ID: "L#victim#0"},
			{Key: "2000-01-01T00:00:00Z", ID: "\x01L#victim#0#\U0010FFFF"},
			{Key: "9999-12-31T23:59:59Z", ID: "#victim"},
		}
		for _, sortBy := range []string{librechat.SortUpdatedAt, librechat.SortCreatedAt, librechat.SortTitle} {
			for _, asc := range []bool{true, false} {
				for _, tags := range [][]string{nil, {"t"}} {
					for _, cur := range append(forged, librechat.Cursor{Key: "L#victim#0", ID: "LT#victim#0#t"}, librechat.Cursor{Key: "Secret", ID: "secret-2"}) {
						q := librechat.ConversationQuery{SortBy: sortBy, Asc: asc, Tags: tags, After: &cur, Limit: 100}
						cs, _, err := st.ListConversations(bg(), "mallory", q)
						if librechat.KindOf(err) == librechat.KindInvalid {
							continue
						}
						must(t, err, fmt.Sprintf("ListConversations %+v", q))
						accepted++
						for _, c := range cs {
							if c.UserID != "mallory" {
								t.Fatalf("forged cursor %+v (%s asc=%v tags=%v) returned %s of %s", cur, sortBy, asc, tags, c.ID, c.UserID)
							}
						}
					}
				}
			}
		}
		if accepted < 40 {
			t.Fatalf("only %d forged cursors were accepted as positions", accepted)
		}
		// A forged position still positions mallory's own list.
		ids, _ := listIDs(t, st, "mallory", librechat.ConversationQuery{Asc: true, After: &forged[2]})
		if !slices.Equal(ids, []string{"own"}) {
			t.Fatalf("mallory's list after a forged early cursor = %q, want [own]", ids)
		}
		_, _, err = st.ListConversations(bg(), "mallory", librechat.ConversationQuery{After: &librechat.Cursor{Key: "L#victim#0", ID: "x"}})
		wantKind(t, err, librechat.KindInvalid, "a time cursor whose key is a partition name")
		_, _, err = st.ListConversations(bg(), "mallory", librechat.ConversationQuery{
			SortBy: librechat.SortTitle, After: &librechat.Cursor{Key: "a", ID: strings.Repeat("x", 300)},
		})
		wantKind(t, err, librechat.KindInvalid, "a cursor with an over-long id")
		_, _, err = st.ListConversations(bg(), "mallory", librechat.ConversationQuery{
			SortBy: librechat.SortTitle, After: &librechat.Cursor{Key: "a\xff", ID: "x"},
		})
		wantKind(t, err, librechat.KindInvalid, "a cursor that is not UTF-8")
	})
}

// TestKeyEscaping: ids and tags holding the key separators cannot make one
// user's keys equal another's.
func TestKeyEscaping(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, st *dynamo.Store) {
		must(t, st.PutConversation(bg(), conv("u#0", "c1", "theirs", base, "x")), "Put u#0")
		must(t, st.PutConversation(bg(), conv("u", "c2", "mine", base, "0#x")), "Put u")
		must(t, st.PutConversation(bg(), conv("u%230", "c3", "percent", base, "x")), "Put u%230")
		must(t, st.PutConversation(bg(), conv("e", "c4", "empty tag", base, "")), "Put with an empty tag")
		for _, tc := range []struct {
			uid  string
			tags []string
			want []string
		}{
			{"u", []string{"0#x"}, []string{"c2"}},
			{"u", []string{"x"}, nil},
			{"u#0", []string{"x"}, []string{"c1"}},
			{"u#0", nil, []string{"c1"}},
			{"u%230", []string{"x"}, []string{"c3"}},
			{"u", nil, []string{"c2"}},
			{"e", []string{""}, []string{"c4"}},
			{"u", []string{""}, nil},
		} {
			got, _ := listIDs(t, st, tc.uid, librechat.ConversationQuery{Tags: tc.tags})
			if !slices.Equal(got, tc.want) {
				t.Errorf("list of %q with tags %q = %q, want %q", tc.uid, tc.tags, got, tc.want)
			}
		}
		must(t, st.PutSetting(bg(), "a#b", []byte("1")), "PutSetting a#b")
		must(t, st.PutSetting(bg(), "a%23b", []byte("2")), "PutSetting a%23b")
		v, err := st.Setting(bg(), "a#b")
		must(t, err, "Setting")
		if string(v) != "1" {
			t.Errorf("Setting a#b = %q, want 1", v)
		}
	})
}

// TestTitleOrder: the title sort key orders bytewise, control characters
// included, and titles longer than the key keeps still page consistently.
func TestTitleOrder(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, st *dynamo.Store) {
		long := strings.Repeat("é", 200)
		titles := []string{"a", "a\x00", "a\x01b", "a\x02", "a\x03", "a b", "a#", "", "Z", "ü", long + "b", long + "a", long, long + "\x00"}
		for i, title := range titles {
			must(t, st.PutConversation(bg(), conv("u1", fmt.Sprintf("c%02d", i), title, base)), "Put")
		}
		var all []string
		var cur *librechat.Cursor
		for {
			ids, next := listIDs(t, st, "u1", librechat.ConversationQuery{SortBy: librechat.SortTitle, Asc: true, Limit: 1, After: cur})
			all = append(all, ids...)
			if next == nil {
				break
			}
			cur = next
		}
		if len(all) != len(titles) {
			t.Fatalf("paged through %d conversations, want %d: %q", len(all), len(titles), all)
		}
		seen := map[string]bool{}
		for _, id := range all {
			if seen[id] {
				t.Fatalf("conversation %s listed twice: %q", id, all)
			}
			seen[id] = true
		}
		// Titles within the first 256 bytes order exactly.
		var short []string
		for _, id := range all {
			var i int
			fmt.Sscanf(id, "c%02d", &i)
			if len(titles[i]) <= 256 {
				short = append(short, titles[i])
			}
		}
		if !slices.IsSorted(short) {
			t.Errorf("titles not in byte order: %q", short)
		}
	})
}

func randomText(n int) string {
	b := make([]byte, n*3/4+3)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)[:n]
}

// TestLongMessages: bodies over the item size limit round-trip (deflated
// in the item, or split into chunk items); chunks of a replaced or deleted
// message go; a body too large even for chunks is KindTooLarge.
func TestLongMessages(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, st *dynamo.Store) {
		msg := func(id, text string) *librechat.Message {
			return &librechat.Message{
				ID: id, ConversationID: "c1", UserID: "u1", ParentID: librechat.NoParent, Text: text,
				Content:   json.RawMessage(fmt.Sprintf(`[{"type":"text","text":%q}]`, text[:min(len(text), 1000)])),
				Fields:    map[string]json.RawMessage{"feedback": json.RawMessage(`{"rating":"thumbsUp"}`)},
				CreatedAt: base, UpdatedAt: base,
			}
		}
		check := func(want *librechat.Message) {
			t.Helper()
			got, err := st.Message(bg(), "u1", "c1", want.ID)
			must(t, err, "Message "+want.ID)
			if got.Text != want.Text || string(got.Content) != string(want.Content) || string(got.Fields["feedback"]) != string(want.Fields["feedback"]) {
				t.Fatalf("Message %s came back with %d bytes of text (want %d), content %d bytes", want.ID, len(got.Text), len(want.Text), len(got.Content))
			}
		}
		must(t, st.PutConversation(bg(), conv("u1", "c1", "long", base)), "PutConversation")

		random300 := msg("m-random", randomText(300<<10))
		plain300 := msg("m-plain", strings.Repeat("All work and no play makes Jack a dull boy. ", 300<<10/44))
		huge := msg("m-huge", randomText(700<<10))
		must(t, st.PutMessages(bg(), random300, plain300), "PutMessages 300 KB")
		must(t, st.PutMessages(bg(), huge), "PutMessages 700 KB of random text")
		for _, m := range []*librechat.Message{random300, plain300, huge} {
			check(m)
		}
		msgs, err := st.Messages(bg(), "u1", "c1")
		must(t, err, "Messages")
		if len(msgs) != 3 {
			t.Fatalf("Messages returned %d, want 3", len(msgs))
		}
		for _, m := range msgs {
			switch m.ID {
			case "m-random":
				check(random300)
			case "m-huge":
				if m.Text != huge.Text {
					t.Fatalf("Messages: m-huge has %d bytes of text, want %d", len(m.Text), len(huge.Text))
				}
			}
		}
		chunks := sortKeys(t, b, "C#c1", "Z#m-huge#")
		if len(chunks) < 2 {
			t.Fatalf("a 700 KB random message is stored in %d chunk items, want several", len(chunks))
		}
		if n := len(sortKeys(t, b, "C#c1", "Z#m-random#")); n != 0 {
			t.Errorf("a 300 KB message has %d chunk items, want it deflated in its item", n)
		}

		// Replacing it with a longer one swaps the chunks.
		huger := msg("m-huge", randomText(1100<<10))
		must(t, st.PutMessages(bg(), huger), "PutMessages replacing the chunked body")
		check(huger)
		after := sortKeys(t, b, "C#c1", "Z#m-huge#")
		for _, sk := range after {
			if slices.Contains(chunks, sk) {
				t.Errorf("chunk %s of the replaced body is still stored", sk)
			}
		}
		short := msg("m-huge", "short now")
		must(t, st.PutMessages(bg(), short), "PutMessages replacing with a short body")
		check(short)
		if n := len(sortKeys(t, b, "C#c1", "Z#")); n != 0 {
			t.Errorf("%d chunk items left after the body became short", n)
		}

		must(t, st.PutMessages(bg(), huge), "PutMessages the chunked body again")
		must(t, st.DeleteMessage(bg(), "u1", "c1", "m-huge"), "DeleteMessage")
		if n := len(sortKeys(t, b, "C#c1", "Z#")); n != 0 {
			t.Errorf("%d chunk items left after DeleteMessage", n)
		}
		must(t, st.PutMessages(bg(), huge), "PutMessages the chunked body once more")
		n, err := st.DeleteConversation(bg(), "u1", "c1")
		must(t, err, "DeleteConversation")
		if n != 3 {
			t.Errorf("DeleteConversation removed %d messages, want 3", n)
		}
		if left := sortKeys(t, b, "C#c1", ""); len(left) != 0 {
			t.Errorf("items left in the deleted conversation's partition: %q", left)
		}

		if b.name == "minidyn" {
			// The limit is checked before any request; once is enough.
			err = st.PutMessages(bg(), msg("m-toolarge", randomText(4500<<10)))
			wantKind(t, err, librechat.KindTooLarge, "PutMessages of 4.5 MB of random text")
		}
		big := conv("u1", "c-big", "big", base)
		big.Fields = map[string]json.RawMessage{"promptPrefix": json.RawMessage(fmt.Sprintf("%q", randomText(420<<10)))}
		wantKind(t, st.PutConversation(bg(), big), librechat.KindTooLarge, "PutConversation with a 420 KB field")
	})
}

// stepClock is a clock the test moves.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestExpiry: an item past its TTL reads as absent (the emulators never
// delete it, DynamoDB may take days), and may be written as new.
func TestExpiry(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			clock := &stepClock{t: time.Now()}
			o := b.opts
			o.Clock, o.ExpiryGrace = clock, time.Hour
			st, _ := openOn(t, b.client, o)
			now := clock.Now()

			must(t, st.CreateSession(bg(), &librechat.Session{ID: "s1", UserID: "u1", CurrentHash: "h", ExpiresAt: now.Add(time.Minute)}), "CreateSession")
			must(t, st.PutToken(bg(), &librechat.Token{UserID: "u1", Purpose: "p", Hash: "h", ExpiresAt: now.Add(time.Minute)}), "PutToken")
			temp := conv("u1", "tmp", "temporary", now)
			temp.IsTemporary, temp.ExpiredAt = true, now.Add(time.Minute)
			must(t, st.PutConversation(bg(), temp), "PutConversation")
			must(t, st.PutMessages(bg(), &librechat.Message{ID: "m1", ConversationID: "tmp", UserID: "u1", IsTemporary: true, ExpiredAt: now.Add(time.Minute)}), "PutMessages")

			// Expired but within the grace: still there, as SQLite would.
			clock.Add(30 * time.Minute)
			_, err := st.SessionByID(bg(), "s1")
			must(t, err, "SessionByID within the grace")
			_, err = st.Conversation(bg(), "u1", "tmp")
			must(t, err, "Conversation within the grace")

			clock.Add(time.Hour)
			_, err = st.SessionByID(bg(), "s1")
			wantKind(t, err, librechat.KindNotFound, "SessionByID past the TTL")
			wantKind(t, st.RotateSession(bg(), "s1", "h", "h2", clock.Now()), librechat.KindNotFound, "RotateSession past the TTL")
			must(t, st.CreateSession(bg(), &librechat.Session{ID: "s1", UserID: "u2", CurrentHash: "new"}), "CreateSession over an expired id")
			_, err = st.TakeToken(bg(), "u1", "p")
			wantKind(t, err, librechat.KindNotFound, "TakeToken past the TTL")
			_, err = st.Conversation(bg(), "u1", "tmp")
			wantKind(t, err, librechat.KindNotFound, "Conversation past the TTL")
			if msgs, err := st.Messages(bg(), "u1", "tmp"); err != nil || len(msgs) != 0 {
				t.Fatalf("Messages past the TTL = %d, %v; want none", len(msgs), err)
			}
			_, err = st.Message(bg(), "u1", "tmp", "m1")
			wantKind(t, err, librechat.KindNotFound, "Message past the TTL")
			must(t, st.PutConversation(bg(), conv("u2", "tmp", "reused", clock.Now())), "PutConversation of another user over an expired id")
			must(t, st.PutMessages(bg(), &librechat.Message{ID: "m1", ConversationID: "tmp", UserID: "u2"}), "PutMessages of another user over an expired id")
		})
	}
}

// faultyBackend is minidyn behind fault injection, without SDK retries,
// so that every injected error reaches the adapter.
func faultyBackend(t *testing.T, opts dynamo.Options) (*dynamo.Store, *faults, *server.Server, backend) {
	t.Helper()
	var f *faults
	client, srv := dynamotest.Minidyn(t, func(h http.Handler) http.Handler {
		f = newFaults(h)
		return f
	}, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	st, o := openOn(t, client, opts)
	return st, f, srv, backend{"minidyn-faults", client, o}
}

// TestThrottling: throttling and service faults are KindUnavailable (the
// HTTP layer answers 503), failed conditions KindConflict; transactions
// cancelled for contention are retried.
func TestThrottling(t *testing.T) {
	st, f, srv, _ := faultyBackend(t, dynamo.Options{})
	must(t, st.CreateUser(bg(), &librechat.User{ID: "u1", Email: "a@example.com"}), "CreateUser")

	for _, code := range []string{"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"} {
		r := f.fail("GetItem", code, -1)
		_, err := st.UserByID(bg(), "u1")
		wantKind(t, err, librechat.KindUnavailable, "UserByID under "+code)
		f.clear()
		if f.hits(r) == 0 {
			t.Fatalf("%s was not injected", code)
		}
	}
	f.fail("Query", "ThrottlingException", -1)
	_, _, err := st.ListConversations(bg(), "u1", librechat.ConversationQuery{})
	wantKind(t, err, librechat.KindUnavailable, "ListConversations while throttled")
	f.clear()
	f.fail("PutItem", "ProvisionedThroughputExceededException", -1)
	wantKind(t, st.PutSetting(bg(), "k", []byte("v")), librechat.KindUnavailable, "PutSetting while throttled")
	f.clear()

	// Contention cancels a transaction; it is retried and succeeds.
	r := f.fail("TransactWriteItems", "TransactionCanceledException", 3)
	must(t, st.CreateUser(bg(), &librechat.User{ID: "u2", Email: "b@example.com"}), "CreateUser through transaction conflicts")
	if f.hits(r) != 3 {
		t.Fatalf("injected %d transaction conflicts, want 3", f.hits(r))
	}
	f.fail("TransactWriteItems", "TransactionCanceledException", -1)
	_, err = st.AddTransaction(bg(), &librechat.Transaction{ID: "t1", UserID: "u1", Amount: 5})
	wantKind(t, err, librechat.KindUnavailable, "AddTransaction under endless transaction conflicts")
	f.clear()

	wantKind(t, st.CreateUser(bg(), &librechat.User{ID: "u3", Email: "A@example.com"}), librechat.KindConflict, "CreateUser with a taken email")

	srv.EmulateFailure(server.FailureConditionInternalServerError)
	_, err = st.Balance(bg(), "u1")
	wantKind(t, err, librechat.KindUnavailable, "Balance under minidyn's emulated failure")
	srv.EmulateFailure(server.FailureConditionNone)
	if n, err := st.CountUsers(bg()); err != nil || n != 2 {
		t.Fatalf("CountUsers = %d, %v; want 2", n, err)
	}

	// With the SDK's own retries a single throttle is absorbed.
	client, _ := dynamotest.Minidyn(t, func(h http.Handler) http.Handler {
		f = newFaults(h)
		return f
	})
	st2, _ := openOn(t, client, dynamo.Options{})
	r = f.fail("PutItem", "ProvisionedThroughputExceededException", 1)
	must(t, st2.PutSetting(bg(), "k", []byte("v")), "PutSetting after one throttle")
	if f.hits(r) != 1 {
		t.Fatal("the throttle was not injected")
	}
}

// TestFallback: without transactions, a failed step undoes the earlier
// ones, and what an interrupted operation leaves behind stays invisible.
func TestFallback(t *testing.T) {
	clock := &stepClock{t: time.Now()}
	st, f, _, b := faultyBackend(t, dynamo.Options{NoTransactions: true, Clock: clock})
	msg := func(id, text string) *librechat.Message {
		return &librechat.Message{ID: id, ConversationID: "c1", UserID: "u1", Text: text, CreatedAt: base}
	}

	t.Run("PutMessagesUndo", func(t *testing.T) {
		must(t, st.PutMessages(bg(), msg("own", "before")), "PutMessages own")
		f.fail("PutItem", "InternalServerError", -1, `"M#m3"`)
		defer f.clear()
		err := st.PutMessages(bg(), msg("m1", "new"), msg("own", "after"), msg("m3", "new"))
		wantKind(t, err, librechat.KindUnavailable, "PutMessages failing at its last message")
		_, err = st.Message(bg(), "u1", "c1", "m1")
		wantKind(t, err, librechat.KindNotFound, "Message m1 of the failed batch")
		own, err := st.Message(bg(), "u1", "c1", "own")
		must(t, err, "Message own")
		if own.Text != "before" {
			t.Fatalf("own = %q after the failed batch, want it restored to %q", own.Text, "before")
		}
	})

	t.Run("CreateUserUndo", func(t *testing.T) {
		f.fail("PutItem", "InternalServerError", -1, `"U#u2"`, `"user"`)
		wantKind(t, st.CreateUser(bg(), &librechat.User{ID: "u2", Email: "e@example.com"}), librechat.KindUnavailable, "CreateUser failing at the user")
		f.clear()
		if n, err := st.CountUsers(bg()); err != nil || n != 0 {
			t.Fatalf("CountUsers = %d, %v after the failed CreateUser; want 0", n, err)
		}
		must(t, st.CreateUser(bg(), &librechat.User{ID: "u3", Email: "e@example.com"}), "CreateUser of the released email")
		u, err := st.UserByEmail(bg(), "e@example.com")
		must(t, err, "UserByEmail")
		if u.ID != "u3" {
			t.Fatalf("UserByEmail = %s, want u3", u.ID)
		}
	})

	t.Run("CreateUserTwice", func(t *testing.T) {
		must(t, st.CreateUser(bg(), &librechat.User{ID: "u6", Email: "g@example.com"}), "CreateUser")
		wantKind(t, st.CreateUser(bg(), &librechat.User{ID: "u6", Email: "g@example.com"}), librechat.KindConflict, "CreateUser again")
		wantKind(t, st.CreateUser(bg(), &librechat.User{ID: "u6", Email: "h@example.com"}), librechat.KindConflict, "CreateUser of the id with another email")
		u, err := st.UserByEmail(bg(), "g@example.com")
		must(t, err, "UserByEmail after the rejected duplicates")
		if u.ID != "u6" {
			t.Fatalf("UserByEmail = %s, want u6", u.ID)
		}
		must(t, st.CreateUser(bg(), &librechat.User{ID: "u7", Email: "h@example.com"}), "CreateUser of the released email")
	})

	t.Run("AbandonedEmailClaim", func(t *testing.T) {
		// A crash between claim and user: the claim stays, unconfirmed.
		f.fail("PutItem", "InternalServerError", -1, `"U#u4"`, `"user"`)
		f.fail("DeleteItem", "InternalServerError", -1, `"E#f@example.com"`)
		wantKind(t, st.CreateUser(bg(), &librechat.User{ID: "u4", Email: "f@example.com"}), librechat.KindUnavailable, "CreateUser crashing")
		f.clear()
		_, err := st.UserByEmail(bg(), "f@example.com")
		wantKind(t, err, librechat.KindNotFound, "UserByEmail of an unconfirmed claim")
		wantKind(t, st.CreateUser(bg(), &librechat.User{ID: "u5", Email: "f@example.com"}), librechat.KindConflict, "CreateUser while the claim is young")
		clock.Add(dynamo.DefaultClaimTimeout + time.Second)
		must(t, st.CreateUser(bg(), &librechat.User{ID: "u5", Email: "f@example.com"}), "CreateUser over an abandoned claim")
		u, err := st.UserByEmail(bg(), "f@example.com")
		must(t, err, "UserByEmail")
		if u.ID != "u5" {
			t.Fatalf("UserByEmail = %s, want u5", u.ID)
		}
	})

	t.Run("AddTransactionUndo", func(t *testing.T) {
		f.fail("UpdateItem", "InternalServerError", -1, `"U#t1"`, `"B"`)
		_, err := st.AddTransaction(bg(), &librechat.Transaction{ID: "x1", UserID: "t1", Amount: 5})
		wantKind(t, err, librechat.KindUnavailable, "AddTransaction failing at the balance")
		f.clear()
		if txs, err := st.Transactions(bg(), "t1"); err != nil || len(txs) != 0 {
			t.Fatalf("Transactions = %d, %v after the failed add; want none", len(txs), err)
		}
		_, err = st.Balance(bg(), "t1")
		wantKind(t, err, librechat.KindNotFound, "Balance after the failed add")
		if n, err := st.AddTransaction(bg(), &librechat.Transaction{ID: "x1", UserID: "t1", Amount: 5}); err != nil || n != 5 {
			t.Fatalf("AddTransaction retried = %d, %v; want 5", n, err)
		}
	})

	t.Run("AddTransactionInterrupted", func(t *testing.T) {
		// A crash between the record and the balance: the pending record
		// never shows.
		f.fail("UpdateItem", "InternalServerError", -1, `"U#t1"`, `"B"`)
		f.fail("DeleteItem", "InternalServerError", -1, `"X#x2"`)
		_, err := st.AddTransaction(bg(), &librechat.Transaction{ID: "x2", UserID: "t1", Amount: 7})
		wantKind(t, err, librechat.KindUnavailable, "AddTransaction crashing")
		f.clear()
		// A crash after the balance: the record shows through the marker.
		f.fail("UpdateItem", "InternalServerError", -1, `"X#x3"`)
		if n, err := st.AddTransaction(bg(), &librechat.Transaction{ID: "x3", UserID: "t1", Amount: 100}); err != nil || n != 105 {
			t.Fatalf("AddTransaction x3 = %d, %v; want 105", n, err)
		}
		f.clear()
		txs, err := st.Transactions(bg(), "t1")
		must(t, err, "Transactions")
		var ids []string
		for _, tx := range txs {
			ids = append(ids, tx.ID)
		}
		if !slices.Equal(ids, []string{"x1", "x3"}) {
			t.Fatalf("Transactions = %q, want [x1 x3]", ids)
		}
		bal, err := st.Balance(bg(), "t1")
		must(t, err, "Balance")
		if bal.TokenCredits != 105 {
			t.Fatalf("Balance = %d, want 105", bal.TokenCredits)
		}
		_, err = st.AddTransaction(bg(), &librechat.Transaction{ID: "x2", UserID: "t1", Amount: 7})
		wantKind(t, err, librechat.KindConflict, "AddTransaction reusing the interrupted id at once")
		clock.Add(dynamo.DefaultClaimTimeout + time.Second)
		if n, err := st.AddTransaction(bg(), &librechat.Transaction{ID: "x2", UserID: "t1", Amount: 7}); err != nil || n != 112 {
			t.Fatalf("AddTransaction over the abandoned record = %d, %v; want 112", n, err)
		}
		_, err = st.AddTransaction(bg(), &librechat.Transaction{ID: "x3", UserID: "t1", Amount: 7})
		wantKind(t, err, librechat.KindConflict, "AddTransaction reusing an applied id, however old")
		if txs, err := st.Transactions(bg(), "t1"); err != nil || len(txs) != 3 {
			t.Fatalf("Transactions = %d, %v; want 3", len(txs), err)
		}
	})

	t.Run("DeleteConversationInterrupted", func(t *testing.T) {
		must(t, st.PutConversation(bg(), conv("u1", "d1", "doomed", base, "x")), "PutConversation")
		must(t, st.PutMessages(bg(), &librechat.Message{ID: "m1", ConversationID: "d1", UserID: "u1"}), "PutMessages")
		f.fail("BatchWriteItem", "InternalServerError", -1)
		_, err := st.DeleteConversation(bg(), "u1", "d1")
		wantKind(t, err, librechat.KindUnavailable, "DeleteConversation crashing after the tombstone")
		f.clear()
		_, err = st.Conversation(bg(), "u1", "d1")
		wantKind(t, err, librechat.KindNotFound, "Conversation after the interrupted delete")
		_, err = st.Message(bg(), "u1", "d1", "m1")
		wantKind(t, err, librechat.KindNotFound, "Message after the interrupted delete")
		if msgs, err := st.Messages(bg(), "u1", "d1"); err != nil || len(msgs) != 0 {
			t.Fatalf("Messages after the interrupted delete = %d, %v", len(msgs), err)
		}
		for _, q := range []librechat.ConversationQuery{{}, {Tags: []string{"x"}}} {
			if ids, _ := listIDs(t, st, "u1", q); slices.Contains(ids, "d1") {
				t.Fatalf("list %+v still shows the deleted conversation", q)
			}
		}
		// Writing the id again finishes the delete first.
		must(t, st.PutConversation(bg(), conv("u1", "d1", "reborn", base)), "PutConversation over the tombstone")
		if msgs, err := st.Messages(bg(), "u1", "d1"); err != nil || len(msgs) != 0 {
			t.Fatalf("Messages of the re-created conversation = %d, %v; want none", len(msgs), err)
		}
		if sks := sortKeys(t, b, "C#d1", ""); !slices.Equal(sks, []string{"C"}) {
			t.Fatalf("partition of the re-created conversation holds %q, want only its item", sks)
		}
	})

	t.Run("PutConversationInterrupted", func(t *testing.T) {
		must(t, st.PutConversation(bg(), conv("u1", "p1", "tagged", base, "a")), "PutConversation")
		f.fail("PutItem", "InternalServerError", -1, `"C#p1"`, `"conv"`)
		wantKind(t, st.PutConversation(bg(), conv("u1", "p1", "retagged", base.Add(time.Hour), "b")), librechat.KindUnavailable,
			"PutConversation crashing before the conversation")
		f.clear()
		if ids, _ := listIDs(t, st, "u1", librechat.ConversationQuery{Tags: []string{"b"}}); len(ids) != 0 {
			t.Fatalf("tag b lists %q from an entry whose write never completed", ids)
		}
		if ids, _ := listIDs(t, st, "u1", librechat.ConversationQuery{Tags: []string{"a"}}); !slices.Equal(ids, []string{"p1"}) {
			t.Fatalf("tag a lists %q, want [p1]", ids)
		}
	})
}

// TestTransactionsAllOrNone: with transactions a failed write leaves
// nothing.
func TestTransactionsAllOrNone(t *testing.T) {
	st, f, _, _ := faultyBackend(t, dynamo.Options{})
	f.fail("TransactWriteItems", "InternalServerError", -1)
	err := st.PutMessages(bg(),
		&librechat.Message{ID: "m1", ConversationID: "c1", UserID: "u1"},
		&librechat.Message{ID: "m2", ConversationID: "c1", UserID: "u1"})
	wantKind(t, err, librechat.KindUnavailable, "PutMessages with a failing transaction")
	wantKind(t, st.CreateUser(bg(), &librechat.User{ID: "u1", Email: "a@example.com"}), librechat.KindUnavailable, "CreateUser with a failing transaction")
	f.clear()
	if msgs, err := st.Messages(bg(), "u1", "c1"); err != nil || len(msgs) != 0 {
		t.Fatalf("Messages = %d, %v after the failed transaction", len(msgs), err)
	}
	if n, err := st.CountUsers(bg()); err != nil || n != 0 {
		t.Fatalf("CountUsers = %d, %v after the failed transaction", n, err)
	}
	if f.count("PutItem") != 0 {
		t.Fatalf("the transactional mode sent %d single puts for these writes", f.count("PutItem"))
	}
}

// TestManyTags: a conversation with more tag entries than one transaction
// holds is written in order and listed under each tag.
func TestManyTags(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, st *dynamo.Store) {
		var tags []string
		for i := range 120 {
			tags = append(tags, fmt.Sprintf("tag-%03d", i))
		}
		must(t, st.PutConversation(bg(), conv("u1", "c1", "many", base, tags...)), "PutConversation with 120 tags")
		must(t, st.PutConversation(bg(), conv("u1", "c1", "many", base.Add(time.Minute), tags[60:]...)), "PutConversation dropping 60 tags")
		for _, tc := range []struct {
			tag  string
			want []string
		}{{"tag-000", nil}, {"tag-059", nil}, {"tag-060", []string{"c1"}}, {"tag-119", []string{"c1"}}} {
			if ids, _ := listIDs(t, st, "u1", librechat.ConversationQuery{Tags: []string{tc.tag}}); !slices.Equal(ids, tc.want) {
				t.Errorf("tag %s lists %q, want %q", tc.tag, ids, tc.want)
			}
		}
		if n := len(sortKeys(t, b, "C#c1", "T#")); n != 60 {
			t.Errorf("%d tag entries stored, want 60", n)
		}
	})
}
