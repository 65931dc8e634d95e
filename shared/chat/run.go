package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/wire"
)

// DefaultTitle is the title of a conversation before one is generated.
const DefaultTitle = "New Chat"

// run is one generation executing in this process.
type run struct {
	svc    *Service
	id     string
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex // guards the fields below and every save of the reply
	finished bool
	aborted  bool
	state    State
	conv     *librechat.Conversation
	user     *librechat.Message
	resp     *librechat.Message
	created  bool
}

func (s *Service) generate(id string) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{svc: s, id: id, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.runs[id] = r
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		delete(s.runs, id)
		s.mu.Unlock()
		close(r.done)
	}()
	go s.heartbeat(ctx, r)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("chat: generation panicked", "job", id, "panic", fmt.Sprint(p))
			r.fail(context.Background(), "An internal error occurred while generating the response.")
		}
	}()
	r.execute(ctx)
}

func (s *Service) localRun(id string) *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

// append writes a frame to the job and folds it into the run's state. A job
// ended elsewhere (an abort through another process) cancels the run.
func (r *run) append(ctx context.Context, f Frame) error {
	if err := r.svc.jobs.Append(context.WithoutCancel(ctx), r.id, f); err != nil {
		if errors.Is(err, ErrJobEnded) {
			r.cancel()
		}
		return err
	}
	r.mu.Lock()
	r.state.Fold(f)
	r.mu.Unlock()
	return nil
}

func (r *run) execute(ctx context.Context) {
	s := r.svc
	info, err := s.jobs.Info(ctx, r.id)
	if err != nil {
		return
	}
	var req request
	var p payload
	var raw wire.Object
	if json.Unmarshal(info.Request, &req) != nil || json.Unmarshal(req.Payload, &p) != nil || json.Unmarshal(req.Payload, &raw) != nil {
		r.fail(ctx, "The request could not be read.")
		return
	}
	if p.ParentMessageID == "" {
		p.ParentMessageID = librechat.NoParent
	}
	ep, ok := s.cfg.Endpoint(req.Endpoint)
	if !ok {
		r.fail(ctx, fmt.Sprintf("Endpoint %q is not configured", req.Endpoint))
		return
	}
	if p.Model == "" {
		if ms := s.cfg.StaticModels(req.Endpoint); len(ms) > 0 {
			p.Model = ms[0]
		}
	}
	now := s.clock.Now()
	userID := req.UserID

	// The conversation: the stored one, or a new one.
	conv, err := s.store.Conversation(ctx, userID, req.ConversationID)
	stored := err == nil
	switch {
	case librechat.IsNotFound(err):
		conv = &librechat.Conversation{
			ID: req.ConversationID, ObjectID: s.ids.ObjectID(), UserID: userID, Title: DefaultTitle,
			CreatedAt: now,
		}
	case err != nil:
		r.fail(ctx, "The conversation could not be loaded.")
		return
	}
	// Only a conversation's first exchange gets a title (a regenerate of
	// that exchange finds the conversation stored).
	newConversation := !stored && p.ParentMessageID == librechat.NoParent
	conv.Endpoint, conv.Model, conv.UpdatedAt = req.Endpoint, p.Model, now
	displayLabel := p.ModelDisplayLabel
	if ep.Custom != nil && ep.Custom.ModelDisplayLabel != "" {
		displayLabel = ep.Custom.ModelDisplayLabel
	}
	wire.ApplyConversationFields(conv, raw)
	if conv.Fields == nil {
		conv.Fields = map[string]json.RawMessage{}
	}
	if ep.IsCustom() {
		conv.Fields["endpointType"] = json.RawMessage(`"custom"`)
	}
	agentID := req.Endpoint + "__" + p.Model + "___" + displayLabel
	conv.Fields["agent_id"], _ = json.Marshal(agentID)
	maxContext := contextWindow(p.Model)
	if p.MaxContextTokens != nil && *p.MaxContextTokens > 0 {
		maxContext = *p.MaxContextTokens
	}
	if _, ok := conv.Fields["maxContextTokens"]; !ok {
		conv.Fields["maxContextTokens"], _ = json.Marshal(maxContext)
	}
	if _, ok := conv.Fields["resendFiles"]; !ok {
		conv.Fields["resendFiles"] = json.RawMessage("true")
	}
	if p.IsTemporary {
		conv.IsTemporary = true
		conv.ExpiredAt = now.Add(30 * 24 * time.Hour)
	}
	sender := Sender(req.Endpoint, ep.IsCustom(), p.Model, p.ModelLabel, displayLabel)
	iconURL := p.IconURL
	if ep.Custom != nil && ep.Custom.IconURL != "" {
		iconURL = ep.Custom.IconURL
	}

	// The tree so far, for the history and for regenerate/continue.
	existing, err := s.store.Messages(ctx, userID, conv.ID)
	if err != nil && !librechat.IsNotFound(err) {
		r.fail(ctx, "The conversation could not be loaded.")
		return
	}
	byID := make(map[string]*librechat.Message, len(existing))
	for _, m := range existing {
		byID[m.ID] = m
	}

	// The user message: new, or the one being re-answered.
	var user *librechat.Message
	var resp *librechat.Message
	switch {
	case p.IsContinued && p.ResponseMessageID != "" && byID[strings.TrimSuffix(p.ResponseMessageID, "_")] != nil:
		resp = byID[strings.TrimSuffix(p.ResponseMessageID, "_")]
		user = byID[resp.ParentID]
		if user == nil {
			r.fail(ctx, "The message to continue has no parent.")
			return
		}
		applyEdit(resp, p.EditedContent)
	case p.OverrideParentMessageID != "" && byID[p.OverrideParentMessageID] != nil:
		user = byID[p.OverrideParentMessageID]
	default:
		if p.ParentMessageID != librechat.NoParent && byID[p.ParentMessageID] == nil {
			r.fail(ctx, "The parent message was not found in this conversation.")
			return
		}
		id := p.MessageID
		if id == "" || byID[id] != nil || !validID(id) {
			id = s.ids.UUID()
		}
		user = &librechat.Message{
			ID: id, ObjectID: s.ids.ObjectID(), ConversationID: conv.ID, UserID: userID,
			ParentID: p.ParentMessageID, Sender: "User", Text: p.Text, IsCreatedByUser: true,
			Endpoint: req.Endpoint, TokenCount: EstimateTokens(p.Text), CreatedAt: now, UpdatedAt: now,
			IsTemporary: conv.IsTemporary, ExpiredAt: conv.ExpiredAt,
			Fields: map[string]json.RawMessage{},
		}
		if len(p.Quotes) > 0 {
			user.Fields["quotes"], _ = json.Marshal(p.Quotes)
		}
		if len(p.Files) > 0 && string(p.Files) != "null" {
			user.Fields["files"] = p.Files
		}
		if v, ok := raw["clientTimestamp"]; ok {
			user.Fields["clientTimestamp"] = v
		}
	}
	if resp == nil {
		resp = &librechat.Message{
			ID: s.ids.UUID(), ObjectID: s.ids.ObjectID(), ConversationID: conv.ID, UserID: userID,
			ParentID: user.ID, Sender: sender, IsCreatedByUser: false, Endpoint: req.Endpoint, Model: p.Model,
			CreatedAt: now, UpdatedAt: now, IsTemporary: conv.IsTemporary, ExpiredAt: conv.ExpiredAt,
			Fields: map[string]json.RawMessage{"attachments": json.RawMessage("[]")},
		}
	}
	if !resp.CreatedAt.After(user.CreatedAt) { // a frozen or coarse clock must not reorder the pair
		resp.CreatedAt = user.CreatedAt.Add(time.Millisecond)
	}
	if iconURL != "" {
		resp.Fields["iconURL"], _ = json.Marshal(iconURL)
	}

	// Persist the user message (and the conversation) before any model work.
	if err := s.store.PutConversation(ctx, conv); err != nil {
		r.fail(ctx, "The conversation could not be saved.")
		return
	}
	if byID[user.ID] == nil {
		if err := s.store.PutMessages(ctx, user); err != nil {
			r.fail(ctx, "The message could not be saved.")
			return
		}
		byID[user.ID] = user
	}
	r.mu.Lock()
	r.conv, r.user, r.resp = conv, user, resp
	r.mu.Unlock()

	um := UserMessage{
		MessageID: user.ID, ParentMessageID: user.ParentID, ConversationID: conv.ID, Sender: "User",
		Text: user.Text, IsCreatedByUser: true, TokenCount: user.TokenCount,
	}
	if q, ok := user.Fields["quotes"]; ok {
		_ = json.Unmarshal(q, &um.Quotes)
	}
	if r.append(ctx, createdFrame(um, conv.ID)) != nil {
		r.finishAborted()
		return
	}
	r.mu.Lock()
	r.created = true
	r.mu.Unlock()
	if r.append(ctx, frame(meta{Meta: true, ResponseMessageID: resp.ID, Sender: sender, IconURL: iconURL, Model: p.Model, Endpoint: req.Endpoint})) != nil {
		r.finishAborted()
		return
	}

	// The prompt: the branch from the root to the user message.
	history := branch(byID, user.ID)
	system := p.PromptPrefix
	if req.System != "" {
		system = strings.TrimSpace(req.System + "\n\n" + p.PromptPrefix)
	}
	msgs := make([]provider.Message, 0, len(history)+1)
	historyTokens := 0
	for _, m := range history {
		pm := toProvider(m)
		if files, ok := m.Fields["files"]; ok && m.IsCreatedByUser && s.opts.Attachments != nil {
			extra, err := s.opts.Attachments.Parts(ctx, userID, files)
			if err != nil {
				r.fail(ctx, "The attached files could not be read.")
				return
			}
			pm.Parts = append(extra, pm.Parts...)
		}
		msgs = append(msgs, pm)
		historyTokens += m.TokenCount
		if m.TokenCount == 0 {
			historyTokens += EstimateTokens(messageText(m))
		}
	}
	if len(resp.Content) > 0 && p.IsContinued { // continue: the partial reply is the assistant's turn so far
		msgs = append(msgs, toProvider(resp))
	}
	systemTokens := EstimateTokens(system)
	budget := maxContext * 95 / 100
	cu := ContextUsage{
		RunID: resp.ID, AgentID: agentID,
		Breakdown: ContextSummary{
			MaxContextTokens: maxContext, InstructionTokens: systemTokens, SystemMessageTokens: systemTokens,
			MessageCount: len(history), MessageTokens: historyTokens,
			AvailableForMessages: budget - systemTokens, ToolTokenCounts: map[string]int{},
		},
		ContextBudget: budget, EffectiveInstructionTokens: systemTokens,
		PrePruneContextTokens:  historyTokens + systemTokens,
		RemainingContextTokens: budget - systemTokens - historyTokens, CalibrationRatio: 1,
	}
	if r.append(ctx, contextUsageFrame(cu)) != nil {
		r.finishAborted()
		return
	}
	cuRaw, _ := json.Marshal(cu)

	streamer, err := s.providers.Streamer(ctx, userID, ep, p.Model)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			r.fail(ctx, re.Error())
		} else {
			r.fail(ctx, err.Error())
		}
		return
	}

	// The title, generated alongside the reply for a new conversation.
	var titles chan string
	if newConversation && !conv.IsTemporary {
		titles = make(chan string, 1)
		go func() {
			titles <- s.generateTitle(ctx, streamer, ep, p.Model, user.Text)
		}()
	}
	titleSent := false
	generated := ""
	sendTitle := func(t string) error {
		titleSent = true
		if t == "" {
			return nil
		}
		generated = t // stored after the final frame, as LibreChat does
		return r.append(ctx, titleFrame(TitleEvent{ConversationID: conv.ID, Title: t}))
	}

	params := toParams(p)
	preq := provider.Request{Model: p.Model, System: system, Messages: msgs, Params: params}
	steps := 0
	stepIDs := map[string]string{} // part type → step id
	index := len(r.state.Content)
	if p.IsContinued {
		index = len(contentParts(resp))
	}
	var usage provider.Usage
	var providerID string
	emit := func(e provider.Event) error {
		if e.ID != "" {
			providerID = e.ID
		}
		if titles != nil && !titleSent {
			select {
			case t := <-titles:
				if err := sendTitle(t); err != nil {
					return err
				}
			default:
			}
		}
		switch e.Kind {
		case provider.EventUsage:
			usage = e.Usage
			return nil
		case provider.EventText, provider.EventReasoning:
			if e.Text == "" {
				return nil
			}
			part := Part{Type: "text", Text: e.Text}
			if e.Kind == provider.EventReasoning {
				part = Part{Type: "think", Think: e.Text}
			}
			sid, ok := stepIDs[part.Type]
			if !ok {
				sid = stepID()
				stepIDs[part.Type] = sid
				if part.Type == "text" {
					delete(stepIDs, "think") // reasoning after text opens a new step
				}
				msgID := providerID
				if msgID == "" {
					msgID = "msg_" + resp.ID
				}
				details := marshal(struct {
					Type            string `json:"type"`
					MessageCreation struct {
						MessageID string `json:"message_id"`
					} `json:"message_creation"`
				}{Type: "message_creation", MessageCreation: struct {
					MessageID string `json:"message_id"`
				}{msgID}})
				if err := r.append(ctx, runStepFrame(RunStep{
					StepIndex: steps, ID: sid, Type: "message_creation", Index: index,
					StepDetails: details, Usage: json.RawMessage("null"), RunID: resp.ID,
				})); err != nil {
					return err
				}
				steps++
				index++
			}
			return r.append(ctx, deltaFrame(sid, part))
		}
		return nil
	}
	streamErr := streamer.Stream(ctx, preq, emit)
	if streamErr != nil {
		if ctx.Err() != nil || errors.Is(streamErr, ErrJobEnded) || errors.Is(streamErr, context.Canceled) {
			r.finishAborted()
			return
		}
		r.failWithPartial(ctx, streamErr)
		return
	}

	// Usage, cost and balance.
	r.mu.Lock()
	parts := r.state.Parts()
	if p.IsContinued {
		parts = mergeContinued(contentParts(resp), r.state.Parts())
	}
	r.mu.Unlock()
	if usage.InputTokens == 0 {
		usage.InputTokens = historyTokens + systemTokens
	}
	if usage.OutputTokens == 0 {
		usage.OutputTokens = EstimateTokens(partsText(parts))
	}
	price := PriceOf(p.Model)
	cost := price.Cost(usage.InputTokens, usage.OutputTokens)
	tu := TokenUsage{
		InputTokens: usage.InputTokens, OutputTokens: usage.OutputTokens,
		TotalTokens: usage.InputTokens + usage.OutputTokens, Model: p.Model, Provider: providerName(ep),
		RunID: resp.ID, Seq: 0, Cost: &cost,
	}
	if r.append(ctx, tokenUsageFrame(tu)) != nil {
		r.finishAborted()
		return
	}
	if titles != nil && !titleSent {
		select {
		case t := <-titles:
			if sendTitle(t) != nil {
				r.finishAborted()
				return
			}
		case <-time.After(s.opts.TitleWait):
		}
	}

	// Store the reply and the conversation, then the final frame.
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return
	}
	resp.Content, _ = json.Marshal(parts)
	resp.Text = ""
	resp.Unfinished, resp.Error = false, false
	resp.TokenCount = usage.OutputTokens
	resp.UpdatedAt = s.clock.Now()
	md, _ := json.Marshal(map[string]any{"usage": tu, "contextUsage": json.RawMessage(cuRaw)})
	resp.Fields["metadata"] = md
	conv.UpdatedAt = resp.UpdatedAt
	err = s.store.PutMessages(ctx, resp)
	if err == nil {
		err = s.store.PutConversation(ctx, conv)
	}
	if err != nil {
		r.mu.Unlock()
		r.fail(ctx, "The response could not be saved.")
		return
	}
	s.charge(ctx, userID, conv.ID, resp.ID, p.Model, usage)
	objIDs := messageObjectIDs(ctx, s.store, userID, conv.ID)
	final := finalFrame(wire.Conversation(conv, objIDs), conv.Title, um, ResponseFinal{
		MessageID: resp.ID, ConversationID: conv.ID, ParentMessageID: user.ID, IsCreatedByUser: false,
		IsEdited: p.IsContinued, Model: p.Model, Sender: resp.Sender, PromptTokens: usage.InputTokens,
		Endpoint: req.Endpoint, Text: "", Content: parts, TokenCount: resp.TokenCount, Attachments: []any{},
	})
	if err := s.jobs.End(context.WithoutCancel(ctx), r.id, StatusComplete, final); err != nil {
		r.mu.Unlock()
		return // aborted elsewhere at the last moment; its partial save stands
	}
	r.finished = true
	r.mu.Unlock()
	s.removeIfWatched(r.id)

	// The title lands after the final frame.
	switch {
	case generated != "":
		r.storeTitle(userID, conv.ID, generated)
	case titles != nil && !titleSent:
		go func() {
			if t := <-titles; t != "" {
				r.storeTitle(userID, conv.ID, t)
			}
		}()
	}
}

// storeTitle writes a generated title unless the user renamed the
// conversation meanwhile.
func (r *run) storeTitle(userID, convID, title string) {
	ctx := context.Background()
	c, err := r.svc.store.Conversation(ctx, userID, convID)
	if err != nil || c.Title != DefaultTitle {
		return
	}
	c.Title = title
	if err := r.svc.store.PutConversation(ctx, c); err != nil {
		r.svc.log.Warn("chat: title not saved", "conversation", convID, "err", err)
	}
}

// finishAborted ends a run that was cancelled: by an abort in this process,
// or because the job was ended elsewhere.
func (r *run) finishAborted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	if !r.aborted {
		return // ended elsewhere: whoever ended it saved the partial reply
	}
	r.savePartialLocked(context.Background())
	title := DefaultTitle
	if r.conv != nil {
		title = r.conv.Title
	}
	if err := r.svc.jobs.End(context.Background(), r.id, StatusAborted, abortFrame(&r.state, title)); err == nil {
		r.svc.removeIfWatched(r.id)
	}
}

// savePartialLocked stores the reply generated so far, marked unfinished.
func (r *run) savePartialLocked(ctx context.Context) {
	if r.resp == nil || !r.created {
		return
	}
	parts := r.state.Parts()
	if len(parts) == 0 && len(r.resp.Content) == 0 {
		return
	}
	m := *r.resp
	if len(parts) > 0 {
		m.Content, _ = json.Marshal(mergeContinued(contentParts(r.resp), parts))
	}
	m.Unfinished, m.Error = true, false
	m.UpdatedAt = r.svc.clock.Now()
	m.TokenCount = EstimateTokens(partsText(parts))
	if err := r.svc.store.PutMessages(ctx, &m); err != nil {
		r.svc.log.Warn("chat: partial reply not saved", "job", r.id, "err", err)
	}
	if r.conv != nil {
		c := *r.conv
		c.UpdatedAt = m.UpdatedAt
		_ = r.svc.store.PutConversation(ctx, &c)
	}
}

// checkpoint stores the partial reply of a running generation whose last
// reader left, so a crash after that loses nothing the user saw.
func (r *run) checkpoint() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.finished {
		r.savePartialLocked(context.Background())
	}
}

// fail ends the job with an error frame; the partial reply, if any, is
// stored as an error message so a reload shows what happened.
func (r *run) fail(ctx context.Context, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	ctx = context.WithoutCancel(ctx)
	if r.resp != nil && r.created {
		m := *r.resp
		parts := r.state.Parts()
		if len(parts) > 0 {
			m.Content, _ = json.Marshal(parts)
			m.Unfinished = true
		}
		m.Text = msg
		m.Error = true
		m.UpdatedAt = r.svc.clock.Now()
		if err := r.svc.store.PutMessages(ctx, &m); err != nil {
			r.svc.log.Warn("chat: error message not saved", "job", r.id, "err", err)
		}
	}
	_ = r.svc.jobs.End(ctx, r.id, StatusError, errorFrame(msg))
}

func (r *run) failWithPartial(ctx context.Context, err error) {
	var se *provider.StreamError
	msg := "The model provider failed: " + err.Error()
	if errors.As(err, &se) {
		switch {
		case se.Status == 401 || se.Status == 403:
			msg = `{"type":"invalid_user_key"}`
		case se.Status == 429:
			msg = "The model provider is rate limiting requests; try again shortly."
		case se.Partial:
			msg = "The response was interrupted: the model provider's stream failed."
		case se.Status >= 500:
			msg = fmt.Sprintf("The model provider is unavailable (status %d).", se.Status)
		case se.Status >= 400:
			msg = fmt.Sprintf("The model provider rejected the request (status %d): %v", se.Status, se.Err)
		}
	}
	r.svc.log.Warn("chat: provider failed", "job", r.id, "err", err)
	r.fail(ctx, msg)
}

// Abort stops the user's job. The partial reply is stored before it
// returns. id may be empty or "new": the user's most recent running job.
func (s *Service) Abort(ctx context.Context, userID, id string) (string, error) {
	if id == "" || id == "new" {
		active, err := s.jobs.Active(ctx, userID)
		if err != nil {
			return "", err
		}
		if len(active) == 0 {
			return "", librechat.E(librechat.KindNotFound, "job not found")
		}
		id = active[len(active)-1]
	}
	info, err := s.jobs.Info(ctx, id)
	if err != nil {
		return "", err
	}
	if info.UserID != userID {
		return "", librechat.E(librechat.KindNotFound, "job not found")
	}
	if info.Status != StatusRunning {
		return "", librechat.E(librechat.KindNotFound, "job not found")
	}
	if r := s.localRun(id); r != nil {
		r.mu.Lock()
		r.aborted = true
		r.mu.Unlock()
		r.cancel()
		<-r.done
		return id, nil
	}
	return id, s.abortRemote(ctx, info)
}

// abortRemote ends a job generating in another process (or not started):
// it rebuilds the partial reply from the frames, stores it, and ends the
// job; the generating process notices on its next frame (or beat) and stops.
func (s *Service) abortRemote(ctx context.Context, info *JobInfo) error {
	ended, err := s.endAborted(ctx, info)
	if err != nil || !ended {
		return err
	}
	return s.jobs.Remove(ctx, info.ID)
}

// endAborted ends a job of another process as aborted and stores the
// reply so far, marked unfinished. It reports false when the job had
// already ended.
func (s *Service) endAborted(ctx context.Context, info *JobInfo) (bool, error) {
	title := DefaultTitle
	conv, convErr := s.store.Conversation(ctx, info.UserID, info.ID)
	if convErr == nil {
		title = conv.Title
	}
	// Ending the job first stops the generating process's appends; the
	// readers turn the mark into the abort frame from what they were sent,
	// and the partial reply is rebuilt from the same, now final, frames.
	mark := frame(meta{Meta: true, Abort: &abortMark{Title: title}})
	if err := s.jobs.End(ctx, info.ID, StatusAborted, mark); err != nil {
		if errors.Is(err, ErrJobEnded) {
			return false, nil
		}
		return false, err
	}
	st, err := s.snapshot(ctx, info.ID)
	if err != nil {
		return true, err
	}
	if st.UserMessage == nil || convErr != nil {
		return true, nil
	}
	parts := st.Parts()
	if len(parts) == 0 || st.ResponseMessageID == "" {
		return true, nil
	}
	now := s.clock.Now()
	content, _ := json.Marshal(parts)
	m := &librechat.Message{
		ID: st.ResponseMessageID, ObjectID: s.ids.ObjectID(), ConversationID: info.ID, UserID: info.UserID,
		ParentID: st.UserMessage.MessageID, Sender: st.Sender, Content: content, Endpoint: st.Endpoint,
		Model: st.Model, Unfinished: true, TokenCount: EstimateTokens(partsText(parts)),
		CreatedAt: now, UpdatedAt: now, Fields: map[string]json.RawMessage{"attachments": json.RawMessage("[]")},
	}
	if old, err := s.store.Message(ctx, info.UserID, info.ID, m.ID); err == nil {
		if !old.Unfinished && !old.Error {
			// Stored whole (the generation saved its reply and stopped
			// before its final frame), or a reply being continued: the
			// stored message stands.
			return true, nil
		}
		m.ObjectID, m.CreatedAt = old.ObjectID, old.CreatedAt
	} else if u, err := s.store.Message(ctx, info.UserID, info.ID, st.UserMessage.MessageID); err == nil && !m.CreatedAt.After(u.CreatedAt) {
		m.CreatedAt = u.CreatedAt.Add(time.Millisecond)
	}
	return true, s.store.PutMessages(ctx, m)
}

// snapshot folds the job's frames so far.
func (s *Service) snapshot(ctx context.Context, id string) (*State, error) {
	return s.fold(ctx, id, -1)
}

// fold folds the job's first max frames so far (all of them when max < 0).
func (s *Service) fold(ctx context.Context, id string, max int) (*State, error) {
	n, err := s.jobs.Len(ctx, id)
	if err != nil {
		return nil, err
	}
	if max >= 0 {
		n = min(n, max)
	}
	st := &State{}
	if n == 0 {
		return st, nil
	}
	stop := errors.New("stop")
	err = s.jobs.Read(ctx, id, 0, func(i int, f Frame) error {
		if i >= n {
			return stop
		}
		st.Fold(f)
		if i == n-1 {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return st, nil
}

// applyEdit replaces one part of a reply being continued.
func applyEdit(m *librechat.Message, e *editedContent) {
	if e == nil {
		return
	}
	parts := contentParts(m)
	if e.Index < 0 || e.Index >= len(parts) {
		return
	}
	switch e.Type {
	case "text":
		parts[e.Index].Text = e.Text
	case "think":
		parts[e.Index].Think = e.Think
	}
	m.Content, _ = json.Marshal(parts)
}

func mergeContinued(prev, next []Part) []Part {
	out := append([]Part{}, prev...)
	for _, p := range next {
		if n := len(out); n > 0 && out[n-1].Type == p.Type {
			out[n-1].Text += p.Text
			out[n-1].Think += p.Think
			continue
		}
		out = append(out, p)
	}
	return out
}

func contentParts(m *librechat.Message) []Part {
	var parts []Part
	if len(m.Content) > 0 {
		_ = json.Unmarshal(m.Content, &parts)
	}
	return parts
}

func partsText(parts []Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func messageText(m *librechat.Message) string {
	if t := partsText(contentParts(m)); t != "" {
		return t
	}
	return m.Text
}

// branch returns the messages from the root to id, following parents.
func branch(byID map[string]*librechat.Message, id string) []*librechat.Message {
	var out []*librechat.Message
	seen := map[string]bool{}
	for id != "" && id != librechat.NoParent && !seen[id] {
		seen[id] = true
		m := byID[id]
		if m == nil {
			break
		}
		out = append(out, m)
		id = m.ParentID
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func toProvider(m *librechat.Message) provider.Message {
	role := provider.RoleAssistant
	if m.IsCreatedByUser {
		role = provider.RoleUser
	}
	text := messageText(m)
	if q, ok := m.Fields["quotes"]; ok && m.IsCreatedByUser {
		var quotes []string
		if json.Unmarshal(q, &quotes) == nil && len(quotes) > 0 {
			var b strings.Builder
			for _, s := range quotes {
				b.WriteString("> ")
				b.WriteString(strings.ReplaceAll(s, "\n", "\n> "))
				b.WriteString("\n\n")
			}
			text = b.String() + text
		}
	}
	return provider.Message{Role: role, Parts: []provider.Part{{Type: provider.PartText, Text: text}}}
}

func toParams(p payload) provider.Params {
	var out provider.Params
	out.Temperature = p.Temperature
	out.TopP = p.TopP
	if out.TopP == nil {
		out.TopP = p.TopPCamel
	}
	out.TopK = p.TopK
	out.MaxTokens = p.MaxTokens
	if out.MaxTokens == nil {
		out.MaxTokens = p.MaxOutputTokens
	}
	out.Stop = p.Stop
	if p.Thinking != nil && *p.Thinking {
		out.Thinking = true
		if p.ThinkingBudget != nil {
			out.ThinkingBudget = *p.ThinkingBudget
		}
	}
	out.ReasoningEffort = p.ReasoningEffort
	return out
}

func providerName(ep config.EndpointInfo) string {
	switch {
	case ep.Offline:
		return "offline"
	case ep.Custom != nil:
		return "openAI"
	}
	return ep.Name
}

func messageObjectIDs(ctx context.Context, st Store, userID, convID string) []string {
	msgs, err := st.Messages(ctx, userID, convID)
	if err != nil {
		return []string{}
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.ObjectID)
	}
	return out
}

const stepAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// stepID makes a run step id shaped like LibreChat's (step_ and 21 characters).
func stepID() string {
	b := make([]byte, 21)
	for i := range b {
		b[i] = stepAlphabet[rand.IntN(len(stepAlphabet))]
	}
	return "step_" + string(b)
}

func validID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// EstimateTokens approximates a token count: about four characters per
// token plus the per-message overhead of chat formats.
func EstimateTokens(s string) int {
	if s == "" {
		return 0
	}
	return (len(s)+3)/4 + 4
}
