package chat_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	chatfn "github.com/lcgo/lcgo/functions/chat"
	"github.com/lcgo/lcgo/shared/app/apptest"
	chatsvc "github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/chat/memjobs"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/provider"
)

// mortal is a process's view of the shared job store that can die: once
// dead, the process does nothing more — no beats, no frames, no end.
type mortal struct {
	chatsvc.Jobs
	dead atomic.Bool
}

func (m *mortal) Touch(ctx context.Context, id string, at time.Time) error {
	if m.dead.Load() {
		return nil
	}
	return m.Jobs.Touch(ctx, id, at)
}

func (m *mortal) Append(ctx context.Context, id string, f chatsvc.Frame) error {
	if m.dead.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return m.Jobs.Append(ctx, id, f)
}

func (m *mortal) End(ctx context.Context, id, status string, fs ...chatsvc.Frame) error {
	if m.dead.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return m.Jobs.End(ctx, id, status, fs...)
}

// processes builds instance A, whose process can be killed, and instance B
// over the same database, job store and clock, as two processes (two Lambda
// execution environments) would be. Both beat every 10 ms of real time;
// a job goes stale after 30 s on the shared fake clock.
func processes(t *testing.T, sc provider.Streamer, deferred bool) (a, b *env, killA func(), clock *apptest.Clock) {
	t.Helper()
	a = newEnv(t, sc, func(c *config.Config) {
		c.StreamHeartbeat = 10 * time.Millisecond
		c.StreamStaleAfter = 30 * time.Second
	})
	clock = a.a.Clock.(*apptest.Clock)
	shared := memjobs.New(clock)
	build := func(jobs chatsvc.Jobs) *env {
		ap := *a.a
		ap.Jobs = jobs
		svc, err := chatfn.Service(&ap, chatfn.Options{Providers: providers{sc}, Deferred: deferred})
		if err != nil {
			t.Fatal(err)
		}
		h, err := chatfn.Handler(&ap, svc, chatfn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{t: t, a: &ap, svc: svc, h: h, alice: a.alice, bob: a.bob, aliceID: a.aliceID, bobID: a.bobID}
		e.srv = httptest.NewServer(h)
		t.Cleanup(e.srv.Close)
		return e
	}
	m := &mortal{Jobs: shared}
	return build(m), build(shared), func() { m.dead.Store(true) }, clock
}

// TestKilledProcessLeavesReplyUnfinished: the process generating a reply
// dies mid-stream. The client resumes through another process at once; a
// stale period later that process ends the job: the reader gets the abort
// final frame with the text it was sent, the user message and the reply so
// far are stored (the reply marked unfinished), and the conversation takes
// a new message.
func TestKilledProcessLeavesReplyUnfinished(t *testing.T) {
	sc := gated()
	a, b, killA, clock := processes(t, sc, false)
	id := a.start(a.alice, "openAI", newChat("Say hello"))
	_, fromA, cancelA := a.stream(a.alice, id, false)
	seen := waitDelta(t, fromA)
	userMsgID := field(t, sub(t, seen[0].Data, "message"), "messageId")
	killA()
	cancelA()

	code, resumed, cancel := b.stream(b.alice, id, true)
	defer cancel()
	if code != 200 {
		t.Fatalf("resume through B: %d", code)
	}
	if f := next(t, resumed); kind(f) != "sync" {
		t.Fatalf("first resumed frame %s", f.Data)
	}
	// Not stale yet: still running for everyone.
	if code, body := b.do("GET", "/api/agents/chat/status/"+id, b.alice, nil); code != 200 || field(t, body, "active") != true {
		t.Fatalf("status before the stale period: %d %s", code, body)
	}
	clock.Advance(31 * time.Second)

	final := next(t, resumed)
	if kind(final) != "final" || field(t, final.Data, "aborted") != true ||
		field(t, final.Data, "responseMessage", "unfinished") != true {
		t.Fatalf("last frame %s", final.Data)
	}
	if got := string(sub(t, sub(t, final.Data, "responseMessage"), "content")); got != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("final content %s", got)
	}
	if rest := collect(resumed); len(rest) != 0 {
		t.Fatalf("frames after the final one: %s", kinds(rest))
	}

	msgs, err := b.a.Store.Messages(context.Background(), b.aliceID, id)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored messages: %v %d", err, len(msgs))
	}
	if msgs[0].ID != userMsgID || msgs[0].Text != "Say hello" || !msgs[0].IsCreatedByUser {
		t.Fatalf("user message %+v", msgs[0])
	}
	if !msgs[1].Unfinished || msgs[1].Error || string(msgs[1].Content) != `[{"type":"text","text":"Hello"}]` || msgs[1].ParentID != userMsgID {
		t.Fatalf("reply %+v content %s", msgs[1], msgs[1].Content)
	}
	if code, body := b.do("GET", "/api/agents/chat/status/"+id, b.alice, nil); code != 200 || field(t, body, "active") == true {
		t.Fatalf("status after: %d %s", code, body)
	}
	if code, body := b.do("GET", "/api/agents/chat/active", b.alice, nil); code != 200 || string(body) != `{"activeJobIds":[]}` {
		t.Fatalf("active after: %d %s", code, body)
	}

	// The conversation goes on: a new message is accepted (no 409) and
	// answered through B.
	// The dead process's generation still waits at the gate (and would
	// block on its next frame); one value each lets the next reply pass.
	go func() { sc.gate <- nil; sc.gate <- nil }()
	more := newChat("Again")
	more["conversationId"], more["parentMessageId"], more["messageId"] = id, msgs[1].ID, "7b1c0000-0000-4000-8000-000000000002"
	if got := b.start(b.alice, "openAI", more); got != id {
		t.Fatalf("next message started %s, want %s", got, id)
	}
	_, ch, cancel2 := b.stream(b.alice, id, false)
	defer cancel2()
	all := collect(ch)
	if len(all) == 0 || kind(all[len(all)-1]) != "final" || field(t, all[len(all)-1].Data, "aborted") == true {
		t.Fatalf("next reply frames %s", kinds(all))
	}
}

// TestStaleJobEndedByStatusActiveAndStart: nobody reads the job of the
// dead process; the status and active-list requests end it, and a new
// start on the conversation is not refused.
func TestStaleJobEndedByStatusActiveAndStart(t *testing.T) {
	sc := gated()
	a, b, killA, clock := processes(t, sc, false)
	id := a.start(a.alice, "openAI", newChat("Say hello"))
	_, fromA, cancelA := a.stream(a.alice, id, false)
	waitDelta(t, fromA)
	killA()
	cancelA()

	// Bob cannot see or end it, stale or not.
	clock.Advance(31 * time.Second)
	if code, body := b.do("GET", "/api/agents/chat/status/"+id, b.bob, nil); code != 200 || string(body) != `{"active":false}` {
		t.Fatalf("bob status: %d %s", code, body)
	}
	if code, body := b.do("GET", "/api/agents/chat/active", b.bob, nil); code != 200 || string(body) != `{"activeJobIds":[]}` {
		t.Fatalf("bob active: %d %s", code, body)
	}
	if info, err := b.a.Jobs.Info(context.Background(), id); err != nil || info.Status != chatsvc.StatusRunning {
		t.Fatalf("bob's requests changed alice's job: %+v %v", info, err)
	}

	code, body := b.do("GET", "/api/agents/chat/active", b.alice, nil)
	if code != 200 || string(body) != `{"activeJobIds":[]}` {
		t.Fatalf("alice active: %d %s", code, body)
	}
	msgs, err := b.a.Store.Messages(context.Background(), b.aliceID, id)
	if err != nil || len(msgs) != 2 || !msgs[1].Unfinished || string(msgs[1].Content) != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("stored after the active list: %v %d", err, len(msgs))
	}
	// A late resume replays the job to its abort frame.
	code, ch, cancel := b.stream(b.alice, id, true)
	defer cancel()
	if code != 200 {
		t.Fatalf("late resume: %d", code)
	}
	if got := kinds(collect(ch)); got != "sync,final" {
		t.Fatalf("late resume frames %s", got)
	}
}

// TestBeatingProcessIsNotStale: a generation whose process is alive keeps
// beating, so however long it runs it is never ended by another process.
func TestBeatingProcessIsNotStale(t *testing.T) {
	sc := gated()
	a, b, _, clock := processes(t, sc, false)
	id := a.start(a.alice, "openAI", newChat("Say hello"))
	_, fromA, cancelA := a.stream(a.alice, id, false)
	defer cancelA()
	waitDelta(t, fromA)
	for range 3 {
		clock.Advance(31 * time.Second)
		now := clock.Now()
		waitFor(t, func() bool {
			info, err := b.a.Jobs.Info(context.Background(), id)
			return err == nil && !info.Beat.Before(now)
		})
		if code, body := b.do("GET", "/api/agents/chat/status/"+id, b.alice, nil); code != 200 || field(t, body, "active") != true {
			t.Fatalf("status of a live generation: %d %s", code, body)
		}
	}
	sc.gate <- nil
	all := collect(fromA)
	last := all[len(all)-1]
	if kind(last) != "final" || field(t, last.Data, "aborted") == true {
		t.Fatalf("A's frames %s", kinds(all))
	}
	msgs, err := a.a.Store.Messages(context.Background(), a.aliceID, id)
	if err != nil || len(msgs) != 2 || msgs[1].Unfinished || !strings.Contains(string(msgs[1].Content), "Hello world") {
		t.Fatalf("stored: %v %+v", err, msgs)
	}
}

// TestProcessDiedBeforeReplyBegan: on Lambda the generation runs in the
// stream request that claims the job. A process that claimed it and died
// before the reply began leaves a job with no frames; a reader through
// another process gets an error frame once it is stale, and the
// conversation is free again.
func TestProcessDiedBeforeReplyBegan(t *testing.T) {
	sc := gated()
	a, b, _, clock := processes(t, sc, true)
	id := a.start(a.alice, "openAI", newChat("Say hello"))
	if ok, err := a.a.Jobs.Claim(context.Background(), id); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	// The stream answers with its first frame, so the clock moves while
	// it waits: before or after the reader first looks at the job, the
	// outcome is the same.
	go clock.Advance(31 * time.Second)
	code, ch, cancel := b.stream(b.alice, id, false)
	defer cancel()
	if code != 200 {
		t.Fatalf("stream: %d", code)
	}
	all := collect(ch)
	if len(all) != 1 || all[0].Event != "error" || !strings.Contains(string(all[0].Data), "stopped before it began") {
		t.Fatalf("frames %s %v", kinds(all), all)
	}
	if info, err := b.a.Jobs.Info(context.Background(), id); err == nil && info.Status == chatsvc.StatusRunning {
		t.Fatalf("job still running: %+v", info)
	}
	// An unclaimed job, however old, is run by the reader that claims it.
	sc.gate <- nil
	id2 := a.start(a.alice, "openAI", newChat("Second"))
	clock.Advance(31 * time.Second)
	_, ch2, cancel2 := b.stream(b.alice, id2, false)
	defer cancel2()
	frames := collect(ch2)
	if last := frames[len(frames)-1]; kind(last) != "final" || field(t, last.Data, "aborted") == true {
		t.Fatalf("frames of the old unclaimed job: %s", kinds(frames))
	}
}
