package chat_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	chatfn "github.com/lcgo/lcgo/functions/chat"
	"github.com/lcgo/lcgo/shared/chat/redisjobs"
	"github.com/lcgo/lcgo/shared/chat/redisjobs/redistest"
	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

// twoInstances builds instance A (the env) and a second instance B over the
// same database file and the same redis-server, each with its own Redis
// client, job store and chat service, as two processes would be.
func twoInstances(t *testing.T, sc provider.Streamer) (a *env, b *env) {
	t.Helper()
	addr := redistest.Start(t)
	client := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { c.Close() })
		return c
	}
	a = newEnv(t, sc, nil)
	// Rebuild A on Redis.
	a.a.Jobs = redisjobs.New(client(), redisjobs.Options{})
	svcA, err := chatfn.Service(a.a, chatfn.Options{Providers: providers{sc}})
	if err != nil {
		t.Fatal(err)
	}
	hA, err := chatfn.Handler(a.a, svcA, chatfn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a.svc, a.h = svcA, hA
	a.srv.Config.Handler = hA

	st, err := sqlite.Open(context.Background(), filepath.Join(a.a.Config.DataDir, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	appB := *a.a
	appB.Store = st
	appB.Jobs = redisjobs.New(client(), redisjobs.Options{})
	bApp := &appB
	svcB, err := chatfn.Service(bApp, chatfn.Options{Providers: providers{sc}})
	if err != nil {
		t.Fatal(err)
	}
	hB, err := chatfn.Handler(bApp, svcB, chatfn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b = &env{t: t, a: bApp, svc: svcB, h: hB, alice: a.alice, bob: a.bob, aliceID: a.aliceID, bobID: a.bobID}
	b.srv = httptest.NewServer(hB)
	t.Cleanup(b.srv.Close)
	return a, b
}

// TestStreamAcrossInstances starts a chat through instance A and follows it
// through instance B: from the start, and resumed mid-reply. Both readers
// get every frame once and in order.
func TestStreamAcrossInstances(t *testing.T) {
	sc := gated()
	a, b := twoInstances(t, sc)
	id := a.start(a.alice, "openAI", newChat("Say hello"))

	_, fromA, cancelA := a.stream(a.alice, id, false)
	defer cancelA()
	code, fromB, cancelB := b.stream(b.alice, id, false)
	defer cancelB()
	if code != 200 {
		t.Fatalf("B stream: %d", code)
	}
	headB := waitDelta(t, fromB)

	// Bob, through B, sees nothing of it.
	if code, _, _ := b.stream(b.bob, id, true); code != 404 {
		t.Fatalf("bob through B: %d", code)
	}
	code, bb := b.do("GET", "/api/agents/chat/status/"+id, b.alice, nil)
	if code != 200 || field(t, bb, "active") != true {
		t.Fatalf("status through B: %d %s", code, bb)
	}

	code, resumed, cancelR := b.stream(b.alice, id, true)
	defer cancelR()
	if code != 200 {
		t.Fatalf("resume through B: %d", code)
	}
	syncF := next(t, resumed)
	if kind(syncF) != "sync" {
		t.Fatalf("first resumed frame: %s", syncF.Data)
	}
	if got := string(sub(t, sub(t, syncF.Data, "resumeState"), "aggregatedContent")); got != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("resume state content %s", got)
	}
	sc.gate <- nil

	listA := collect(fromA)
	listB := append(headB, collect(fromB)...)
	tail := collect(resumed)
	if !strings.HasPrefix(kinds(listA), "created,on_context_usage,on_run_step,on_message_delta") || kind(listA[len(listA)-1]) != "final" {
		t.Fatalf("A frames %s", kinds(listA))
	}
	// One log: B's reader got exactly A's frames, byte for byte.
	if len(listB) != len(listA) {
		t.Fatalf("B got %d frames, A %d:\n%s\n%s", len(listB), len(listA), kinds(listB), kinds(listA))
	}
	for i := range listA {
		if listA[i].Event != listB[i].Event || string(listA[i].Data) != string(listB[i].Data) {
			t.Fatalf("frame %d differs:\n%s\n%s", i, listA[i].Data, listB[i].Data)
		}
	}
	// The resumed reader got the frames after its snapshot: a suffix of
	// the log that does not repeat the delta the snapshot holds.
	if len(tail) == 0 || len(tail) >= len(listA) {
		t.Fatalf("resumed tail %s", kinds(tail))
	}
	off := len(listA) - len(tail)
	for i := range tail {
		if string(tail[i].Data) != string(listA[off+i].Data) {
			t.Fatalf("resumed frame %d is not the log's frame %d", i, off+i)
		}
	}
	for _, f := range tail {
		if strings.Contains(string(f.Data), `"text":"Hello"}]}}`) {
			t.Fatal("the snapshot's delta was sent again after sync")
		}
	}
	// Generation ran in A; the stored reply is visible to B's store.
	msgs, err := b.a.Store.Messages(context.Background(), b.aliceID, id)
	if err != nil || len(msgs) != 2 || string(msgs[1].Content) != `[{"type":"text","text":"Hello world"}]` {
		t.Fatalf("stored through B: %v %d", err, len(msgs))
	}
}

// TestAbortThroughOtherInstance stops, through B, a generation running in
// A: B stores the partial reply from the frames and ends the job; A stops
// generating.
func TestAbortThroughOtherInstance(t *testing.T) {
	sc := gated()
	a, b := twoInstances(t, sc)
	id := a.start(a.alice, "openAI", newChat("Say hello"))
	_, fromA, cancelA := a.stream(a.alice, id, false)
	defer cancelA()
	waitDelta(t, fromA)

	if code, body := b.do("POST", "/api/agents/chat/abort", b.bob, map[string]string{"conversationId": id}); code != 404 {
		t.Fatalf("bob's abort through B: %d %s", code, body)
	}
	code, body := b.do("POST", "/api/agents/chat/abort", b.alice, map[string]string{"conversationId": id})
	if code != 200 || field(t, body, "success") != true {
		t.Fatalf("abort through B: %d %s", code, body)
	}
	msgs, err := b.a.Store.Messages(context.Background(), b.aliceID, id)
	if err != nil || len(msgs) != 2 || !msgs[1].Unfinished || string(msgs[1].Content) != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("partial reply stored by B: %v %+v", err, msgs)
	}
	rest := collect(fromA)
	final := rest[len(rest)-1].Data
	if field(t, final, "aborted") != true || field(t, final, "responseMessage", "unfinished") != true {
		t.Fatalf("A's reader got %s", final)
	}
	sc.gate <- nil // A's generator resumes, finds the job ended and stops
	a.svc.Wait(id)
	msgs, _ = a.a.Store.Messages(context.Background(), a.aliceID, id)
	if len(msgs) != 2 || !msgs[1].Unfinished || string(msgs[1].Content) != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("A overwrote the aborted reply: %+v", msgs[1])
	}
}
