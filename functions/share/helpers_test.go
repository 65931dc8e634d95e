package share_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/share"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
)

type testEnv struct {
	t      *testing.T
	a      *app.App
	h      http.Handler
	clock  *apptest.Clock
	signer *auth.Signer
}

func newEnv(t *testing.T) *testEnv { return newEnvWith(t, nil, nil) }

// newEnvWith builds the area; mutate may change the configuration and wrap
// the store.
func newEnvWith(t *testing.T, mutate func(*config.Config), wrap func(librechat.Store) librechat.Store) *testEnv {
	t.Helper()
	a, parts := apptest.New(t, mutate)
	if err := roles.Seed(context.Background(), a.Store, a.IDs, a.Config); err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		a.Store = wrap(a.Store)
	}
	h, err := share.New(a)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := auth.FromApp(a)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, a: a, h: h, clock: parts.Clock, signer: signer}
	e.permissions(true, true)
	return e
}

// permissions sets SHARED_LINKS.CREATE and SHARE_PUBLIC of the USER role.
func (e *testEnv) permissions(create, public bool) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.a.Store.RoleByName(ctx, librechat.RoleUser)
	if err != nil {
		e.t.Fatal(err)
	}
	r.Permissions[roles.SharedLinks] = map[string]bool{roles.Create: create, roles.Share: true, roles.SharePublic: public}
	if err := e.a.Store.PutRole(ctx, r); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) newUser(name string) (*librechat.User, string) {
	e.t.Helper()
	id := e.a.IDs.ObjectID()
	now := e.clock.Now()
	u := &librechat.User{
		ID: id, Name: name, Username: name, Email: name + ".secret@example.com", EmailVerified: true,
		Provider: librechat.ProviderLocal, Role: librechat.RoleUser, CreatedAt: now, UpdatedAt: now,
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
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// convo stores a conversation of u.
func (e *testEnv) convo(u *librechat.User, id, title string) *librechat.Conversation {
	e.t.Helper()
	now := e.clock.Now()
	c := &librechat.Conversation{
		ID: id, ObjectID: e.a.IDs.ObjectID(), UserID: u.ID, Title: title, Endpoint: "openAI", Model: "gpt-4o",
		Fields:    map[string]json.RawMessage{"promptPrefix": json.RawMessage(`"owner's private prompt"`)},
		CreatedAt: now, UpdatedAt: now,
	}
	if err := e.a.Store.PutConversation(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// msg is a message to store: id, parent ("" for a root), text.
type msg struct {
	id, parent, text string
	byUser           bool
	fields           map[string]string
	model            string
	content          string
}

func (e *testEnv) messages(c *librechat.Conversation, specs ...msg) {
	e.t.Helper()
	var out []*librechat.Message
	for _, s := range specs {
		e.clock.Advance(time.Second)
		at := e.clock.Now()
		parent := s.parent
		if parent == "" {
			parent = librechat.NoParent
		}
		sender := "GPT-4o"
		if s.byUser {
			sender = "User"
		}
		model := s.model
		if model == "" {
			model = "gpt-4o"
		}
		m := &librechat.Message{
			ID: s.id, ObjectID: e.a.IDs.ObjectID(), ConversationID: c.ID, UserID: c.UserID, ParentID: parent,
			Sender: sender, Text: s.text, IsCreatedByUser: s.byUser, Endpoint: "openAI", Model: model,
			TokenCount: 7, Fields: map[string]json.RawMessage{"metadata": json.RawMessage(`{"owner":"` + c.UserID + `"}`)},
			CreatedAt: at, UpdatedAt: at,
		}
		if s.content != "" {
			m.Content = json.RawMessage(s.content)
		}
		for k, v := range s.fields {
			m.Fields[k] = json.RawMessage(v)
		}
		out = append(out, m)
	}
	if err := e.a.Store.PutMessages(context.Background(), out...); err != nil {
		e.t.Fatal(err)
	}
}

// create shares a conversation and returns the share id.
func (e *testEnv) create(token, convID, body string) string {
	e.t.Helper()
	res := e.do("POST", "/api/share/"+convID, token, body)
	if res.status != http.StatusOK {
		e.t.Fatalf("create %s: %s", convID, res)
	}
	id, _ := res.object(e.t)["shareId"].(string)
	if id == "" {
		e.t.Fatalf("no shareId: %s", res)
	}
	return id
}

// stored is every link of u, for "nothing changed" checks.
func (e *testEnv) stored(u *librechat.User) string {
	e.t.Helper()
	links, _, err := e.a.Store.Shares(context.Background(), u.ID, librechat.ShareQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.Marshal(links)
	return string(b)
}

// view is a decoded public view.
type view struct {
	ShareID        string `json:"shareId"`
	Title          string `json:"title"`
	ConversationID string `json:"conversationId"`
	Messages       []struct {
		MessageID       string `json:"messageId"`
		ParentMessageID string `json:"parentMessageId"`
		ConversationID  string `json:"conversationId"`
		Text            string `json:"text"`
		Sender          string `json:"sender"`
		IsCreatedByUser bool   `json:"isCreatedByUser"`
	} `json:"messages"`
}

func (e *testEnv) view(shareID, token string) (view, result) {
	e.t.Helper()
	res := e.do("GET", "/api/share/"+shareID, token, "")
	if res.status != http.StatusOK {
		e.t.Fatalf("view %s: %s", shareID, res)
	}
	var v view
	if err := json.Unmarshal(res.body, &v); err != nil {
		e.t.Fatal(err)
	}
	return v, res
}

func (v view) texts() []string {
	out := make([]string, len(v.Messages))
	for i, m := range v.Messages {
		out[i] = m.Text
	}
	return out
}

// keys lists the keys of a JSON object in document order.
func keys(t *testing.T, data []byte) []string {
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

// errorBody asserts a status and a JSON error naming msg in both keys.
func errorBody(t *testing.T, got result, status int, msg string) {
	t.Helper()
	want, _ := json.Marshal(map[string]string{"error": msg, "message": msg})
	if got.status != status || string(got.body) != string(want) {
		t.Fatalf("got %s, want %d %s", got, status, want)
	}
}

func loadCapture(t *testing.T, name string) (int, string) {
	t.Helper()
	c := apptest.LoadCapture(t, name)
	return c.Status, c.Body
}
