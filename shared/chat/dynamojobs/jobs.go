package dynamojobs

import (
	"time"

	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/platform/awsutil"
)

// errCondition is a failed condition of a write; callers re-read.
var errCondition = errors.New("dynamojobs: condition not met")

// Create implements chat.Jobs. It writes the user's index entry and the
// request first and the INFO item last, with a condition that the id has
// no running job, so a job is never running without being listed; a
// refused Create deletes its entry and request again.
func (j *Jobs) Create(ctx context.Context, info chat.JobInfo) error {
	const op = "dynamojobs.Create"
	if info.ID == "" {
		return librechat.E(librechat.KindInvalid, "job id is required")
	}
	if !validID(info.ID) || len(info.UserID) > maxIDBytes {
		return librechat.E(librechat.KindInvalid, "job or user id is too long")
	}
	created, err := info.CreatedAt.MarshalText()
	if err != nil {
		return librechat.Wrap(librechat.KindInvalid, op, err)
	}
	req, err := encode(info.Request)
	if err != nil {
		return err
	}
	gen := newGen(8)
	pk := jobPK(info.ID)
	frameTTL := j.ttlAfter(j.opt.FrameTTL)

	idx := item{aPK: sv(userPK(info.UserID)), aSK: sv(indexSK(info.ID, gen)),
		aID: sv(info.ID), aGen: sv(gen), aAt: nv(j.now().UnixMilli()), aTTL: nv(j.ttlAfter(j.opt.UserTTL))}
	if err := j.put(ctx, idx); err != nil {
		return fail(ctx, op, err)
	}
	undo := func() {
		c := context.WithoutCancel(ctx)
		_ = j.del(c, userPK(info.UserID), indexSK(info.ID, gen))
		_ = j.del(c, pk, reqSK(gen))
		for p := range req.parts {
			_ = j.del(c, pk, partSK(reqSK(gen), p))
		}
	}
	main, parts := req.items(pk, reqSK(gen), frameTTL, nil)
	for _, it := range append(parts, main) {
		if err := j.put(ctx, it); err != nil {
			undo()
			return fail(ctx, op, err)
		}
	}

	for attempt := 0; ; attempt++ {
		if attempt >= attempts {
			undo()
			return librechat.E(librechat.KindUnavailable, "the database is busy; retry shortly")
		}
		old, err := j.get(ctx, pk, infoSK())
		if err != nil {
			undo()
			return fail(ctx, op, err)
		}
		if j.live(old) && getStr(old, aStatus) == chat.StatusRunning {
			undo()
			return librechat.E(librechat.KindConflict, "a generation is already running for this conversation")
		}
		it := item{aPK: sv(pk), aSK: sv(infoSK()), aID: sv(info.ID), aStatus: sv(chat.StatusRunning),
			aGen: sv(gen), aCount: nv(0), aCreated: sv(string(created)), aTTL: nv(j.ttlAfter(j.opt.RunningTTL))}
		if info.UserID != "" {
			it[aUser] = sv(info.UserID)
		}
		in := &dynamodb.PutItemInput{TableName: &j.table, Item: it}
		if old == nil {
			in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
			in.ExpressionAttributeNames = map[string]string{"#pk": aPK}
		} else {
			// Readers of the previous generation find where it ended here.
			if pg := getStr(old, aGen); pg != "" {
				it[aPrevGen] = sv(pg)
				it[aPrevN] = nv(getNum(old, aCount))
				if tok := getStr(old, aEndTok); tok != "" {
					it[aPrevTok] = sv(tok)
					it[aPrevE] = nv(getNum(old, aEndN))
				}
			}
			in.ConditionExpression = aws.String("#gen = :gen AND (#st <> :running OR #ttl <= :now)")
			in.ExpressionAttributeNames = map[string]string{"#gen": aGen, "#st": aStatus, "#ttl": aTTL}
			in.ExpressionAttributeValues = item{":gen": sv(getStr(old, aGen)), ":running": sv(chat.StatusRunning), ":now": nv(j.now().Unix())}
		}
		_, err = j.db.PutItem(ctx, in)
		if awsutil.IsConditionFailed(err) {
			if err := pause(ctx, attempt); err != nil {
				undo()
				return err
			}
			continue
		}
		if err != nil {
			undo()
			return fail(ctx, op, err)
		}
		j.local.signal(info.ID)
		return nil
	}
}

// info reads the INFO item; nil when the job does not exist, expired or
// was removed.
func (j *Jobs) info(ctx context.Context, id string) (item, error) {
	if !validID(id) {
		return nil, nil
	}
	it, err := j.get(ctx, jobPK(id), infoSK())
	if err != nil {
		return nil, err
	}
	if !j.live(it) || getStr(it, aStatus) == statusRemoved {
		return nil, nil
	}
	return it, nil
}

// Info implements chat.Jobs.
func (j *Jobs) Info(ctx context.Context, id string) (*chat.JobInfo, error) {
	const op = "dynamojobs.Info"
	it, err := j.info(ctx, id)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	if it == nil {
		return nil, notFound()
	}
	info := &chat.JobInfo{ID: id, UserID: getStr(it, aUser), Status: getStr(it, aStatus)}
	if c := getStr(it, aCreated); c != "" {
		if err := info.CreatedAt.UnmarshalText([]byte(c)); err != nil {
			return nil, librechat.Wrap(librechat.KindOther, op, err)
		}
	}
	if b := getStr(it, aBeat); b != "" {
		if err := info.Beat.UnmarshalText([]byte(b)); err != nil {
			return nil, librechat.Wrap(librechat.KindOther, op, err)
		}
	}
	req, err := j.get(ctx, jobPK(id), reqSK(getStr(it, aGen)))
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	if req != nil {
		data, err := j.decode(ctx, req)
		if err != nil {
			return nil, fail(ctx, op, err)
		}
		if len(data) > 0 {
			info.Request = json.RawMessage(data)
		}
	}
	return info, nil
}

// Claim implements chat.Jobs: a conditional update that sets the claimed
// flag only on a running job that has none. A job that ended before anyone
// claimed it is never claimed.
func (j *Jobs) Claim(ctx context.Context, id string) (bool, error) {
	const op = "dynamojobs.Claim"
	if !validID(id) {
		return false, notFound()
	}
	_, err := j.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &j.table,
		Key:                       keyOf(jobPK(id), infoSK()),
		UpdateExpression:          aws.String("SET #c = :t"),
		ConditionExpression:       aws.String("#st = :running AND #ttl > :now AND attribute_not_exists(#c)"),
		ExpressionAttributeNames:  map[string]string{"#c": aClaimed, "#st": aStatus, "#ttl": aTTL},
		ExpressionAttributeValues: item{":t": boolv(true), ":running": sv(chat.StatusRunning), ":now": nv(j.now().Unix())},
	})
	if err == nil {
		return true, nil
	}
	if !awsutil.IsConditionFailed(err) {
		return false, fail(ctx, op, err)
	}
	it, err := j.info(ctx, id)
	if err != nil {
		return false, fail(ctx, op, err)
	}
	if it == nil {
		return false, notFound()
	}
	return false, nil
}

// ended tells why a conditional write on a job failed: chat.ErrJobEnded
// when the job is there but not running, gone when it is not there.
func (j *Jobs) ended(ctx context.Context, op, id string) error {
	it, err := j.info(ctx, id)
	if err != nil {
		return fail(ctx, op, err)
	}
	if it == nil {
		return gone(op)
	}
	return chat.ErrJobEnded
}

// Touch implements chat.Jobs: a conditional update of the running job's
// beat.
func (j *Jobs) Touch(ctx context.Context, id string, at time.Time) error {
	const op = "dynamojobs.Touch"
	if !validID(id) {
		return gone(op)
	}
	beat, err := at.MarshalText()
	if err != nil {
		return librechat.Wrap(librechat.KindInvalid, op, err)
	}
	_, err = j.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &j.table,
		Key:                       keyOf(jobPK(id), infoSK()),
		UpdateExpression:          aws.String("SET #b = :b"),
		ConditionExpression:       aws.String("#st = :running AND #ttl > :now"),
		ExpressionAttributeNames:  map[string]string{"#b": aBeat, "#st": aStatus, "#ttl": aTTL},
		ExpressionAttributeValues: item{":b": sv(string(beat)), ":running": sv(chat.StatusRunning), ":now": nv(j.now().Unix())},
	})
	if awsutil.IsConditionFailed(err) {
		return j.ended(ctx, op, id)
	}
	if err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// Append implements chat.Jobs: the conditional update that takes the next
// index (and refreshes the job's TTL) fails once the job ended; the frame
// is written at that index afterwards.
func (j *Jobs) Append(ctx context.Context, id string, f chat.Frame) error {
	const op = "dynamojobs.Append"
	if !validID(id) {
		return gone(op)
	}
	b, err := encode(f.Data)
	if err != nil {
		return err
	}
	pk := jobPK(id)
	out, err := j.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &j.table,
		Key:                       keyOf(pk, infoSK()),
		UpdateExpression:          aws.String("SET #a = #a + :one, #ttl = :ttl"),
		ConditionExpression:       aws.String("#st = :running AND #ttl > :now"),
		ExpressionAttributeNames:  map[string]string{"#a": aCount, "#ttl": aTTL, "#st": aStatus},
		ExpressionAttributeValues: item{":one": nv(1), ":ttl": nv(j.ttlAfter(j.opt.RunningTTL)), ":running": sv(chat.StatusRunning), ":now": nv(j.now().Unix())},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if awsutil.IsConditionFailed(err) {
		return j.ended(ctx, op, id)
	}
	if err != nil {
		return fail(ctx, op, err)
	}
	gen, idx := getStr(out.Attributes, aGen), getNum(out.Attributes, aCount)-1
	attrs := item{}
	if f.Event != "" {
		attrs[aEvent] = sv(f.Event)
	}
	main, parts := b.items(pk, appendSK(gen, idx), j.ttlAfter(j.opt.FrameTTL), attrs)
	for _, it := range append(parts, main) {
		if err := j.put(ctx, it); err != nil {
			return fail(ctx, op, err)
		}
	}
	j.local.signal(id)
	return nil
}

// End implements chat.Jobs. Its frames go under a token of its own; the
// conditional update that ends the job records the token, so only the
// winner's frames are ever read. With transactions the frames and the
// update are one TransactWriteItems; without, the frames are written first
// and a losing End deletes them again.
func (j *Jobs) End(ctx context.Context, id, status string, frames ...chat.Frame) error {
	const op = "dynamojobs.End"
	if !endStatuses[status] {
		return librechat.E(librechat.KindInvalid, "invalid final job status %q", status)
	}
	bodies := make([]body, len(frames))
	for k, f := range frames {
		b, err := encode(f.Data)
		if err != nil {
			return err
		}
		bodies[k] = b
	}
	pk := jobPK(id)
	for attempt := 0; ; attempt++ {
		if attempt >= attempts {
			return librechat.E(librechat.KindUnavailable, "the database is busy; retry shortly")
		}
		cur, err := j.info(ctx, id)
		if err != nil {
			return fail(ctx, op, err)
		}
		if cur == nil {
			return gone(op)
		}
		if getStr(cur, aStatus) != chat.StatusRunning {
			return chat.ErrJobEnded
		}
		gen, tok := getStr(cur, aGen), newGen(4)
		ttl := j.ttlAfter(j.opt.FrameTTL)
		var items []item
		size := 0
		for k, f := range frames {
			attrs := item{}
			if f.Event != "" {
				attrs[aEvent] = sv(f.Event)
			}
			main, parts := bodies[k].items(pk, endSK(gen, tok, k), ttl, attrs)
			items = append(items, parts...)
			items = append(items, main)
			size += bodies[k].size() + 200
		}
		flip := &dynamodb.UpdateItemInput{
			TableName:           &j.table,
			Key:                 keyOf(pk, infoSK()),
			UpdateExpression:    aws.String("SET #st = :st, #etok = :tok, #e = :e, #ended = :at, #ttl = :ttl"),
			ConditionExpression: aws.String("#gen = :gen AND #st = :running AND #ttl > :now"),
			ExpressionAttributeNames: map[string]string{"#st": aStatus, "#etok": aEndTok, "#e": aEndN,
				"#ended": aEnded, "#ttl": aTTL, "#gen": aGen},
			ExpressionAttributeValues: item{":st": sv(status), ":tok": sv(tok), ":e": nv(int64(len(frames))),
				":at": nv(j.now().UnixMilli()), ":ttl": nv(j.ttlAfter(j.opt.EndedTTL)), ":gen": sv(gen),
				":running": sv(chat.StatusRunning), ":now": nv(j.now().Unix())},
		}
		if !j.opt.NoTransactions && len(items)+1 <= maxTxItems && size <= maxTxBytes {
			err = j.endTx(ctx, flip, items)
		} else {
			err = j.endOrdered(ctx, flip, items)
		}
		if errors.Is(err, errCondition) {
			// Another End won, or an Append moved nothing the condition
			// reads: re-read and decide.
			if err := pause(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fail(ctx, op, err)
		}
		j.local.signal(id)
		j.unindex(ctx, cur)
		return nil
	}
}

// endTx writes the frames and the status flip in one transaction.
func (j *Jobs) endTx(ctx context.Context, flip *dynamodb.UpdateItemInput, items []item) error {
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName:                 flip.TableName,
		Key:                       flip.Key,
		UpdateExpression:          flip.UpdateExpression,
		ConditionExpression:       flip.ConditionExpression,
		ExpressionAttributeNames:  flip.ExpressionAttributeNames,
		ExpressionAttributeValues: flip.ExpressionAttributeValues,
	}}}
	for _, it := range items {
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &j.table, Item: it}})
	}
	for attempt := 0; ; attempt++ {
		_, err := j.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil {
			return nil
		}
		if awsutil.TxConditionFailed(err, 0) {
			return errCondition
		}
		// Contention with another End or Append: retry with backoff.
		if awsutil.Kind(err) == librechat.KindUnavailable && ctx.Err() == nil && attempt < 8 {
			if perr := pause(ctx, attempt+3); perr != nil {
				return perr
			}
			continue
		}
		return err
	}
}

// endOrdered writes the frames, then flips the status; frames of a flip
// that lost are deleted again (they are unreachable either way: no INFO
// item names their token).
func (j *Jobs) endOrdered(ctx context.Context, flip *dynamodb.UpdateItemInput, items []item) error {
	cleanup := func() {
		c := context.WithoutCancel(ctx)
		for _, it := range items {
			_ = j.del(c, getStr(it, aPK), getStr(it, aSK))
		}
	}
	for _, it := range items {
		if err := j.put(ctx, it); err != nil {
			cleanup()
			return err
		}
	}
	_, err := j.db.UpdateItem(ctx, flip)
	if err == nil {
		return nil
	}
	cleanup()
	if awsutil.IsConditionFailed(err) {
		return errCondition
	}
	return err
}

// unindex deletes the user's index entry of the job whose INFO item is it.
// A failure only leaves an entry that Active ignores and drops later.
func (j *Jobs) unindex(ctx context.Context, it item) {
	id, gen := getStr(it, aID), getStr(it, aGen)
	_ = j.del(context.WithoutCancel(ctx), userPK(getStr(it, aUser)), indexSK(id, gen))
}

// Len implements chat.Jobs.
func (j *Jobs) Len(ctx context.Context, id string) (int, error) {
	it, err := j.info(ctx, id)
	if err != nil {
		return 0, fail(ctx, "dynamojobs.Len", err)
	}
	if it == nil {
		return 0, notFound()
	}
	return stateOf(it).total(), nil
}

// Active implements chat.Jobs: one strongly consistent Query of the
// user's index, then a consistent BatchGetItem of the jobs it names; only
// entries whose job is running under the same generation and user count.
// Entries of jobs that are gone are deleted once they are older than a
// minute (younger ones may belong to a Create in progress). The ids are
// sorted.
func (j *Jobs) Active(ctx context.Context, userID string) ([]string, error) {
	const op = "dynamojobs.Active"
	type entry struct {
		id, gen, sk string
		at          int64
	}
	var entries []entry
	err := j.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :p)"),
		ExpressionAttributeNames:  map[string]string{"#pk": aPK, "#sk": aSK},
		ExpressionAttributeValues: item{":pk": sv(userPK(userID)), ":p": sv("J#")},
	}, func(it item) bool {
		entries = append(entries, entry{getStr(it, aID), getStr(it, aGen), getStr(it, aSK), getNum(it, aAt)})
		return true
	})
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	ids := []string{}
	if len(entries) == 0 {
		return ids, nil
	}
	var keys []item
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.id] && validID(e.id) {
			seen[e.id] = true
			keys = append(keys, keyOf(jobPK(e.id), infoSK()))
		}
	}
	got, err := j.batchGet(ctx, keys)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	infos := map[string]item{}
	for _, it := range got {
		if j.live(it) {
			infos[getStr(it, aID)] = it
		}
	}
	cutoff := j.now().Add(-staleIndex).UnixMilli()
	for _, e := range entries {
		it := infos[e.id]
		if it != nil && getStr(it, aGen) == e.gen {
			if getStr(it, aStatus) == chat.StatusRunning && getStr(it, aUser) == userID {
				ids = append(ids, e.id)
				continue
			}
			_ = j.del(ctx, userPK(userID), e.sk) // ended: its Create is done
			continue
		}
		if e.at < cutoff {
			_ = j.del(ctx, userPK(userID), e.sk)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Remove implements chat.Jobs. The INFO item becomes a tombstone that
// reads as absent (Info, Len, Claim and new Reads say not found; Append and
// End fail with chat.ErrJobEnded) for RemovedTTL; a running job thereby
// ends as aborted with the frames it has, and readers already on the job
// finish with every frame up to its end. Removing an unknown job is not an
// error.
func (j *Jobs) Remove(ctx context.Context, id string) error {
	const op = "dynamojobs.Remove"
	if !validID(id) {
		return nil
	}
	for attempt := 0; ; attempt++ {
		if attempt >= attempts {
			return librechat.E(librechat.KindUnavailable, "the database is busy; retry shortly")
		}
		it, err := j.info(ctx, id)
		if err != nil {
			return fail(ctx, op, err)
		}
		if it == nil {
			return nil
		}
		_, err = j.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &j.table,
			Key:                       keyOf(jobPK(id), infoSK()),
			UpdateExpression:          aws.String("SET #st = :removed, #ttl = :ttl"),
			ConditionExpression:       aws.String("#gen = :gen AND #st = :st"),
			ExpressionAttributeNames:  map[string]string{"#st": aStatus, "#ttl": aTTL, "#gen": aGen},
			ExpressionAttributeValues: item{":removed": sv(statusRemoved), ":ttl": nv(j.ttlAfter(j.opt.RemovedTTL)), ":gen": sv(getStr(it, aGen)), ":st": sv(getStr(it, aStatus))},
		})
		if awsutil.IsConditionFailed(err) {
			if err := pause(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fail(ctx, op, err)
		}
		j.local.signal(id)
		j.unindex(ctx, it)
		return nil
	}
}

// state is what a reader needs of a job's INFO item.
type state struct {
	count  int64  // frames appended
	ended  bool   // no more frames will be added
	endTok string // the winning End's token, "" when it added none
	endN   int64
}

func (s state) total() int {
	if s.ended && s.endTok != "" {
		return int(s.count + s.endN)
	}
	return int(s.count)
}

func stateOf(it item) state {
	return state{
		count:  getNum(it, aCount),
		ended:  getStr(it, aStatus) != chat.StatusRunning,
		endTok: getStr(it, aEndTok),
		endN:   getNum(it, aEndN),
	}
}

// prevState is the final state of the generation before it's.
func prevState(it item) state {
	return state{count: getNum(it, aPrevN), ended: true, endTok: getStr(it, aPrevTok), endN: getNum(it, aPrevE)}
}
