package messages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/messages"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

type testEnv struct {
	t      *testing.T
	a      *app.App
	h      http.Handler
	clock  *apptest.Clock
	signer *auth.Signer
	jobs   *fakeJobs
}

// fakeJobs reports running jobs by user and conversation.
type fakeJobs struct {
	mu      sync.Mutex
	running map[[2]string]bool
}

func (f *fakeJobs) Running(_ context.Context, userID, conversationID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[[2]string{userID, conversationID}]
}

func (f *fakeJobs) start(userID, conversationID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running == nil {
		f.running = map[[2]string]bool{}
	}
	f.running[[2]string{userID, conversationID}] = true
}

func newEnv(t *testing.T, opts ...messages.Option) *testEnv {
	t.Helper()
	return newEnvWith(t, nil, opts...)
}

// newEnvWith is newEnv with a configuration change.
func newEnvWith(t *testing.T, mutate func(*config.Config), opts ...messages.Option) *testEnv {
	t.Helper()
	a, parts := apptest.New(t, mutate)
	jobs := &fakeJobs{}
	h, err := messages.New(a, append([]messages.Option{messages.WithActiveJobs(jobs)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := auth.FromApp(a)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, a: a, h: h, clock: parts.Clock, signer: signer, jobs: jobs}
}

type account struct {
	u     *librechat.User
	token string
}

// newUser stores a user and returns it with an access token.
func (e *testEnv) newUser(name string) account {
	e.t.Helper()
	id := e.a.IDs.ObjectID()
	u := &librechat.User{
		ID: id, Name: name, Username: name + id[len(id)-4:], Email: name + id + "@example.com",
		EmailVerified: true, Provider: librechat.ProviderLocal, Role: librechat.RoleUser,
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
	}
	if err := e.a.Store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Access(u, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return account{u: u, token: tok}
}

// conversation stores a conversation of the user.
func (e *testEnv) conversation(owner account, id, title string) *librechat.Conversation {
	e.t.Helper()
	now := e.clock.Now()
	c := &librechat.Conversation{
		ID: id, ObjectID: e.a.IDs.ObjectID(), UserID: owner.u.ID, Title: title,
		Endpoint: "openAI", Model: "gpt-4o", CreatedAt: now, UpdatedAt: now,
	}
	if err := e.a.Store.PutConversation(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	return c
}

// put stores messages as given (user, object id and times filled in when
// unset), one clock tick apart.
func (e *testEnv) put(owner account, msgs ...*librechat.Message) {
	e.t.Helper()
	for _, m := range msgs {
		m.UserID = owner.u.ID
		if m.ObjectID == "" {
			m.ObjectID = e.a.IDs.ObjectID()
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = e.clock.Now()
		}
		if m.UpdatedAt.IsZero() {
			m.UpdatedAt = m.CreatedAt
		}
		e.clock.Advance(time.Second)
	}
	if err := e.a.Store.PutMessages(context.Background(), msgs...); err != nil {
		e.t.Fatal(err)
	}
}

// stored reads one message back (nil when absent).
func (e *testEnv) stored(owner account, convID, id string) *librechat.Message {
	e.t.Helper()
	m, err := e.a.Store.Message(context.Background(), owner.u.ID, convID, id)
	if librechat.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// snapshot is the JSON of every message of a conversation, to show that a
// failed request changed nothing.
func (e *testEnv) snapshot(owner account, convID string) string {
	e.t.Helper()
	msgs, err := e.a.Store.Messages(context.Background(), owner.u.ID, convID)
	if err != nil {
		e.t.Fatal(err)
	}
	docs := make([]*wire.Doc, 0, len(msgs))
	for _, m := range msgs {
		docs = append(docs, wire.Message(m))
	}
	b, err := json.Marshal(docs)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (e *testEnv) do(method, path, token, body string) result {
	e.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return e.send(method, path, token, ct, body)
}

// send makes a request with any content type.
func (e *testEnv) send(method, path, token, contentType, body string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// call is a request to one path and the answer it must get (want "":
// any body).
type call struct {
	what, path, token, body string
	status                  int
	want                    string
}

// expect checks the status and, when want is not empty, the exact body.
func expect(t *testing.T, what string, r result, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d (%s)", what, r.status, status, r.body)
		return
	}
	if want != "" && string(r.body) != want {
		t.Errorf("%s:\n got %s\nwant %s", what, r.body, want)
	}
}

func decodeJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return v
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

// keysOf lists the keys of a JSON object in order.
func keysOf(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
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

func sameKeys(t *testing.T, what string, data []byte, want ...string) {
	t.Helper()
	if got := keysOf(t, data); !reflect.DeepEqual(got, want) {
		t.Errorf("%s keys\n got %q\nwant %q", what, got, want)
	}
}

const (
	convA = "a246d8e7-1017-4c8e-8b6e-684874a6cf9b"
	convB = "0b7f6a1e-2c34-4d56-8e78-9a0b1c2d3e4f"
)

// textMessage is a user message.
func textMessage(convID, id, parent, text string) *librechat.Message {
	return &librechat.Message{
		ID: id, ConversationID: convID, ParentID: parent, Sender: "User", Text: text,
		IsCreatedByUser: true, Endpoint: "openAI", TokenCount: 5,
	}
}

// reply is an AI response whose body is in content.
func reply(convID, id, parent, content string) *librechat.Message {
	return &librechat.Message{
		ID: id, ConversationID: convID, ParentID: parent, Sender: "GPT-4o",
		Content: json.RawMessage(content), Endpoint: "openAI", Model: "gpt-4o", TokenCount: 20,
		Fields: map[string]json.RawMessage{"attachments": json.RawMessage(`[]`)},
	}
}
