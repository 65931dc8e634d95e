package convos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/convos"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
)

// scriptedIDs hands out queued ObjectIDs first, then random ones.
type scriptedIDs struct {
	mu    sync.Mutex
	queue []string
	next  librechat.IDs
}

func (s *scriptedIDs) ObjectID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		id := s.queue[0]
		s.queue = s.queue[1:]
		return id
	}
	return s.next.ObjectID()
}

func (s *scriptedIDs) UUID() string { return s.next.UUID() }

func (s *scriptedIDs) push(ids ...string) {
	s.mu.Lock()
	s.queue = append(s.queue, ids...)
	s.mu.Unlock()
}

type testEnv struct {
	t      *testing.T
	a      *app.App
	h      http.Handler
	clock  *apptest.Clock
	signer *auth.Signer
	ids    *scriptedIDs
	sleeps *sleepLog
}

// sleepLog records the waits of gen_title and may act on each.
type sleepLog struct {
	mu     sync.Mutex
	waits  []time.Duration
	onWait func(n int) error
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n, f := len(s.waits), s.onWait
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if f != nil {
		return f(n)
	}
	return nil
}

func (s *sleepLog) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// envSetup is what an envOption may change before the area is built.
type envSetup struct {
	opts convos.Options
	wrap func(librechat.Store) librechat.Store
}

type envOption func(*envSetup)

func withImportMax(n int64) envOption { return func(s *envSetup) { s.opts.ImportMaxBytes = n } }

func withStore(wrap func(librechat.Store) librechat.Store) envOption {
	return func(s *envSetup) { s.wrap = wrap }
}

// failingStore fails the nth PutMessages call (counting from when armed).
type failingStore struct {
	librechat.Store
	mu      sync.Mutex
	armed   bool
	calls   int
	failAt  int
	failErr error
}

func (f *failingStore) arm(n int) {
	f.mu.Lock()
	f.armed, f.calls, f.failAt = true, 0, n
	f.mu.Unlock()
}

func (f *failingStore) PutMessages(ctx context.Context, msgs ...*librechat.Message) error {
	f.mu.Lock()
	fail := false
	if f.armed {
		f.calls++
		fail = f.calls == f.failAt
	}
	f.mu.Unlock()
	if fail {
		return f.failErr
	}
	return f.Store.PutMessages(ctx, msgs...)
}

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	a, parts := apptest.New(t, nil)
	ids := &scriptedIDs{next: a.IDs}
	a.IDs = ids
	if err := roles.Seed(context.Background(), a.Store, a.IDs, a.Config); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, a: a, clock: parts.Clock, ids: ids, sleeps: &sleepLog{}}
	setup := envSetup{opts: convos.Options{Sleep: func(ctx context.Context, d time.Duration) error { return e.sleeps.sleep(ctx, d) }}}
	for _, f := range opts {
		f(&setup)
	}
	if setup.wrap != nil {
		a.Store = setup.wrap(a.Store)
	}
	h, err := convos.NewWithOptions(a, setup.opts)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := auth.FromApp(a)
	if err != nil {
		t.Fatal(err)
	}
	e.h, e.signer = h, signer
	return e
}

// setTime moves the clock to an ISO time (never backwards).
func (e *testEnv) setTime(iso string) {
	e.t.Helper()
	at := mustTime(e.t, iso)
	d := at.Sub(e.clock.Now())
	if d < 0 {
		e.t.Fatalf("clock would go back to %s", iso)
	}
	e.clock.Advance(d)
}

func mustTime(t *testing.T, iso string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, iso)
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC()
}

// bookmarks switches BOOKMARKS.USE on for the USER role.
func (e *testEnv) bookmarks(on bool) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.a.Store.RoleByName(ctx, librechat.RoleUser)
	if err != nil {
		e.t.Fatal(err)
	}
	r.Permissions[roles.Bookmarks] = map[string]bool{roles.Use: on}
	if err := e.a.Store.PutRole(ctx, r); err != nil {
		e.t.Fatal(err)
	}
}

// newUser stores a USER with the given id (random when empty) and returns
// it with an access token.
func (e *testEnv) newUser(id string) (*librechat.User, string) {
	e.t.Helper()
	if id == "" {
		id = e.a.IDs.ObjectID()
	}
	now := e.clock.Now()
	u := &librechat.User{
		ID: id, Name: "User " + id[len(id)-4:], Username: "u" + id, Email: id + "@example.com",
		EmailVerified: true, Provider: librechat.ProviderLocal, Role: librechat.RoleUser,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := e.a.Store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Access(u, 24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return u, tok
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (r result) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

func (e *testEnv) do(method, path, token, body string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.serve(req, token)
}

func (e *testEnv) serve(req *http.Request, token string) result {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// upload posts a multipart import with content as the "file" field.
func (e *testEnv) upload(token, content string) result {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "export.json")
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/api/convos/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.serve(req, token)
}

// convoSpec is a conversation to store directly.
type convoSpec struct {
	id, objectID, title, endpoint, model string
	archived, pinned, temporary          bool
	tags                                 []string
	fields                               map[string]string
	created, updated                     string
}

func (e *testEnv) putConvo(u *librechat.User, s convoSpec) *librechat.Conversation {
	e.t.Helper()
	if s.id == "" {
		s.id = e.a.IDs.UUID()
	}
	if s.objectID == "" {
		s.objectID = e.a.IDs.ObjectID()
	}
	if s.endpoint == "" {
		s.endpoint = "FakeOpenAI"
	}
	created, updated := e.clock.Now(), e.clock.Now()
	if s.created != "" {
		created = mustTime(e.t, s.created)
	}
	if s.updated != "" {
		updated = mustTime(e.t, s.updated)
	} else if s.created != "" {
		updated = created
	}
	c := &librechat.Conversation{
		ID: s.id, ObjectID: s.objectID, UserID: u.ID, Title: s.title, Endpoint: s.endpoint, Model: s.model,
		IsArchived: s.archived, Pinned: s.pinned, IsTemporary: s.temporary, Tags: s.tags,
		Fields: map[string]json.RawMessage{}, CreatedAt: created, UpdatedAt: updated,
	}
	for k, v := range s.fields {
		c.Fields[k] = json.RawMessage(v)
	}
	if err := e.a.Store.PutConversation(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// msgSpec is a message to store: id, parent id ("" for a root) and the
// offset of its creation after base.
type msgSpec struct {
	id, parent, objectID string
	byUser               bool
}

func (e *testEnv) putMsgs(c *librechat.Conversation, specs ...msgSpec) []*librechat.Message {
	e.t.Helper()
	var out []*librechat.Message
	base := c.CreatedAt
	for i, s := range specs {
		parent := s.parent
		if parent == "" {
			parent = librechat.NoParent
		}
		oid := s.objectID
		if oid == "" {
			oid = e.a.IDs.ObjectID()
		}
		at := base.Add(time.Duration(i+1) * time.Second)
		sender := "Fake Title"
		if s.byUser {
			sender = "User"
		}
		out = append(out, &librechat.Message{
			ID: s.id, ObjectID: oid, ConversationID: c.ID, UserID: c.UserID, ParentID: parent,
			Sender: sender, Text: "text of " + s.id, IsCreatedByUser: s.byUser, Endpoint: c.Endpoint,
			Model: c.Model, Fields: map[string]json.RawMessage{"note": json.RawMessage(`"` + s.id + `"`)},
			CreatedAt: at, UpdatedAt: at,
		})
	}
	if err := e.a.Store.PutMessages(context.Background(), out...); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *testEnv) convo(u *librechat.User, id string) *librechat.Conversation {
	e.t.Helper()
	c, err := e.a.Store.Conversation(context.Background(), u.ID, id)
	if err != nil {
		e.t.Fatalf("conversation %s: %v", id, err)
	}
	return c
}

func (e *testEnv) messages(u *librechat.User, convID string) []*librechat.Message {
	e.t.Helper()
	msgs, err := e.a.Store.Messages(context.Background(), u.ID, convID)
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

// allConvos lists every conversation of u, archived or not, by creation.
func (e *testEnv) allConvos(u *librechat.User) []*librechat.Conversation {
	e.t.Helper()
	var out []*librechat.Conversation
	for _, archived := range []bool{false, true} {
		q := librechat.ConversationQuery{Archived: archived, SortBy: librechat.SortCreatedAt, Asc: true, Limit: 100}
		for {
			page, next, err := e.a.Store.ListConversations(context.Background(), u.ID, q)
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, page...)
			if next == nil {
				break
			}
			q.After = next
		}
	}
	return out
}

// snapshot is everything stored for a user, for "nothing changed" checks.
func (e *testEnv) snapshot(u *librechat.User) string {
	e.t.Helper()
	var b strings.Builder
	for _, c := range e.allConvos(u) {
		cb, _ := json.Marshal(c)
		b.Write(cb)
		for _, m := range e.messages(u, c.ID) {
			mb, _ := json.Marshal(m)
			b.Write(mb)
		}
	}
	tags, err := e.a.Store.Tags(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	tb, _ := json.Marshal(tags)
	b.Write(tb)
	return b.String()
}

// capture is one recorded exchange of LibreChat's own server.
type capture struct {
	status int
	body   string
}

func loadCapture(t *testing.T, name string) capture {
	t.Helper()
	c := apptest.LoadCapture(t, name)
	return capture{c.Status, c.Body}
}

// expectCapture checks status and body byte for byte.
func expectCapture(t *testing.T, got result, name string) {
	t.Helper()
	want := loadCapture(t, name)
	if got.status != want.status || string(got.body) != want.body {
		t.Fatalf("%s:\n got  %d %s\n want %d %s", name, got.status, got.body, want.status, want.body)
	}
}

// keys lists the keys of a JSON object in document order.
func keys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", data)
	}
	var out []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, k.(string))
	}
	return out
}

// errorBody asserts a status and a one-key JSON error body.
func errorBody(t *testing.T, got result, status int, key, msg string) {
	t.Helper()
	want, _ := json.Marshal(map[string]string{key: msg})
	if got.status != status || string(got.body) != string(want) {
		t.Fatalf("got %s, want %d %s", got, status, want)
	}
}

// listPage is a decoded GET /api/convos answer.
type listPage struct {
	Conversations []struct {
		ConversationID string   `json:"conversationId"`
		Title          string   `json:"title"`
		Tags           []string `json:"tags"`
		Pinned         bool     `json:"pinned"`
	} `json:"conversations"`
	NextCursor *string `json:"nextCursor"`
}

func (e *testEnv) list(token, query string) listPage {
	e.t.Helper()
	res := e.do("GET", "/api/convos"+query, token, "")
	if res.status != 200 {
		e.t.Fatalf("list %s: %s", query, res)
	}
	var p listPage
	res.decode(e.t, &p)
	return p
}

func (p listPage) ids() []string {
	out := make([]string, len(p.Conversations))
	for i, c := range p.Conversations {
		out[i] = c.ConversationID
	}
	return out
}

// messageDoc is the part of a returned message the tests look at.
type messageDoc struct {
	MessageID       string `json:"messageId"`
	ConversationID  string `json:"conversationId"`
	ParentMessageID string `json:"parentMessageId"`
	Text            string `json:"text"`
	Sender          string `json:"sender"`
	IsCreatedByUser bool   `json:"isCreatedByUser"`
	CreatedAt       string `json:"createdAt"`
	Model           string `json:"model"`
	Endpoint        string `json:"endpoint"`
}

type convoResponse struct {
	Conversation struct {
		ConversationID string   `json:"conversationId"`
		Title          string   `json:"title"`
		User           string   `json:"user"`
		Endpoint       string   `json:"endpoint"`
		Model          string   `json:"model"`
		Messages       []string `json:"messages"`
		Tags           []string `json:"tags"`
	} `json:"conversation"`
	Messages []messageDoc `json:"messages"`
}
