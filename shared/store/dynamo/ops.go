package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Batch limits of DynamoDB.
const (
	maxBatchGet   = 100
	maxBatchWrite = 25
	maxTxItems    = 100
	maxTxBytes    = 3 << 20 // under the 4 MB request limit, with room for names and expressions
)

// attempts bounds every optimistic retry loop.
const attempts = 40

func (s *Store) now() time.Time { return s.clock.Now() }

// ttlFor is the TTL of an item that expires at exp: ExpiryGrace after the
// later of exp and now, in epoch seconds.
func (s *Store) ttlFor(exp time.Time) int64 {
	now := s.now()
	if exp.Before(now) {
		exp = now
	}
	return exp.Add(s.grace).Unix()
}

// expired reports whether the item's TTL has passed.
func (s *Store) expired(it item) bool {
	return hasAttr(it, AttrTTL) && getNum(it, AttrTTL) <= s.now().Unix()
}

// liveItem is it unless it is nil or expired.
func (s *Store) liveItem(it item) item {
	if it == nil || s.expired(it) {
		return nil
	}
	return it
}

// newGen returns a random write generation.
func newGen() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pause waits a short random time growing with the attempt.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(1+mrand.IntN(1<<min(attempt, 6))) * time.Millisecond
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// get reads one item, strongly consistent; nil when absent.
func (s *Store) get(ctx context.Context, k key) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            k.av(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// put writes an item; cond may be empty. A failed condition is errCondition.
func (s *Store) put(ctx context.Context, it item, e *expr, cond string) error {
	_, err := s.putRet(ctx, it, e, cond, types.ReturnValueNone)
	return err
}

// putOld is put returning the item it replaced (nil when there was none).
func (s *Store) putOld(ctx context.Context, it item, e *expr, cond string) (item, error) {
	return s.putRet(ctx, it, e, cond, types.ReturnValueAllOld)
}

func (s *Store) putRet(ctx context.Context, it item, e *expr, cond string, ret types.ReturnValue) (item, error) {
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: it}
	if ret != types.ReturnValueNone {
		in.ReturnValues = ret
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
		in.ExpressionAttributeNames = e.nameMap()
		in.ExpressionAttributeValues = e.valueMap()
	}
	out, err := s.db.PutItem(ctx, in)
	if isCondition(err) {
		return nil, errCondition
	}
	if err != nil {
		return nil, err
	}
	if len(out.Attributes) == 0 {
		return nil, nil
	}
	return out.Attributes, nil
}

// update applies an update expression; cond may be empty. ret selects the
// returned attributes. A failed condition is errCondition.
func (s *Store) update(ctx context.Context, k key, e *expr, upd, cond string, ret types.ReturnValue) (item, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       k.av(),
		UpdateExpression:          aws.String(upd),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
		ReturnValues:              ret,
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	out, err := s.db.UpdateItem(ctx, in)
	if isCondition(err) {
		return nil, errCondition
	}
	if err != nil {
		return nil, err
	}
	return out.Attributes, nil
}

// del deletes an item; cond may be empty. It returns the old item (nil
// when there was none). A failed condition is errCondition.
func (s *Store) del(ctx context.Context, k key, e *expr, cond string) (item, error) {
	in := &dynamodb.DeleteItemInput{
		TableName:    &s.table,
		Key:          k.av(),
		ReturnValues: types.ReturnValueAllOld,
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
		in.ExpressionAttributeNames = e.nameMap()
		in.ExpressionAttributeValues = e.valueMap()
	}
	out, err := s.db.DeleteItem(ctx, in)
	if isCondition(err) {
		return nil, errCondition
	}
	if err != nil {
		return nil, err
	}
	if len(out.Attributes) == 0 {
		return nil, nil
	}
	return out.Attributes, nil
}

// queryPartition reads a partition of the base table, strongly consistent,
// in sort-key order; prefix, when set, restricts the sort keys. fn returns
// false to stop.
func (s *Store) queryPartition(ctx context.Context, pk, prefix string, fn func(item) bool) error {
	e := newExpr()
	cond := e.eq(AttrPK, sv(pk))
	if prefix != "" {
		cond += " AND begins_with(" + e.n(AttrSK) + ", " + e.v(sv(prefix)) + ")"
	}
	return s.query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
		ConsistentRead:            aws.Bool(true),
	}, fn)
}

// query runs in page after page; fn returns false to stop.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, fn func(item) bool) error {
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if !fn(it) {
				return nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// collect reads the items of a query that keep accepts, up to n of them
// (all when n <= 0).
func (s *Store) collect(ctx context.Context, in *dynamodb.QueryInput, n int, keep func(item) bool) ([]item, error) {
	var out []item
	err := s.query(ctx, in, func(it item) bool {
		if keep == nil || keep(it) {
			out = append(out, it)
		}
		return n <= 0 || len(out) < n
	})
	return out, err
}

// batchGet reads items by key, strongly consistent. Absent items are
// missing from the map.
func (s *Store) batchGet(ctx context.Context, keys []key) (map[key]item, error) {
	return s.batchGetAttrs(ctx, keys)
}

// batchGetAttrs is batchGet reading only the named attributes (and the
// key), or every attribute when none are named.
func (s *Store) batchGetAttrs(ctx context.Context, keys []key, attrs ...string) (map[key]item, error) {
	var e *expr
	var projection *string
	if len(attrs) > 0 {
		e = newExpr()
		names := []string{e.n(AttrPK), e.n(AttrSK)}
		for _, a := range attrs {
			names = append(names, e.n(a))
		}
		projection = aws.String(strings.Join(names, ", "))
	}
	found := make(map[key]item, len(keys))
	seen := make(map[key]bool, len(keys))
	var pending []map[string]types.AttributeValue
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			pending = append(pending, k.av())
		}
	}
	for attempt := 0; len(pending) > 0; {
		n := min(len(pending), maxBatchGet)
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{
				s.table: {
					Keys:                     pending[:n],
					ConsistentRead:           aws.Bool(true),
					ProjectionExpression:     projection,
					ExpressionAttributeNames: e.nameMap(),
				},
			},
		})
		if err != nil {
			return nil, err
		}
		pending = pending[n:]
		for _, it := range out.Responses[s.table] {
			found[key{getStr(it, AttrPK), getStr(it, AttrSK)}] = it
		}
		if left := out.UnprocessedKeys[s.table].Keys; len(left) > 0 {
			pending = append(pending, left...)
			if attempt++; attempt > attempts {
				return nil, errors.New("dynamo: batch get left keys unprocessed")
			}
			if err := pause(ctx, attempt); err != nil {
				return nil, err
			}
		}
	}
	return found, nil
}

// batchDelete deletes items by key, unconditionally.
func (s *Store) batchDelete(ctx context.Context, keys []key) error {
	return s.batchWrite(ctx, nil, keys)
}

// batchWrite puts and deletes items, unconditionally, 25 to a request. A
// key is written once: a later put of it replaces an earlier one, and a
// put wins over a delete.
func (s *Store) batchWrite(ctx context.Context, puts []item, dels []key) error {
	at := make(map[key]int, len(puts)+len(dels))
	var pending []types.WriteRequest
	for _, it := range puts {
		k := key{getStr(it, AttrPK), getStr(it, AttrSK)}
		req := types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
		if i, ok := at[k]; ok {
			pending[i] = req
			continue
		}
		at[k] = len(pending)
		pending = append(pending, req)
	}
	for _, k := range dels {
		if _, ok := at[k]; !ok {
			at[k] = len(pending)
			pending = append(pending, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k.av()}})
		}
	}
	var chunks [][]types.WriteRequest
	for len(pending) > 0 {
		n := min(len(pending), maxBatchWrite)
		chunks = append(chunks, pending[:n])
		pending = pending[n:]
	}
	if len(chunks) <= 1 {
		for _, c := range chunks {
			if err := s.writeBatch(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		work     = make(chan []types.WriteRequest)
	)
	for range min(batchWorkers, len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := s.writeBatch(ctx, c); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, c := range chunks {
		work <- c
	}
	close(work)
	wg.Wait()
	return firstErr
}

// batchWorkers bounds the BatchWriteItem requests one write sends at once.
const batchWorkers = 8

// writeBatch sends one BatchWriteItem of at most 25 requests, resending
// what DynamoDB leaves unprocessed.
func (s *Store) writeBatch(ctx context.Context, pending []types.WriteRequest) error {
	for attempt := 0; len(pending) > 0; {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: pending},
		})
		if err != nil {
			return err
		}
		pending = out.UnprocessedItems[s.table]
		if len(pending) > 0 {
			if attempt++; attempt > attempts {
				return errors.New("dynamo: batch write left items unprocessed")
			}
			if err := pause(ctx, attempt); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- claims ----

// errHeld is what hold reports when another holder keeps the claim.
var errHeld = errors.New("dynamo: claimed by another")

// holdItem is a uniqueness claim (a group name, a model configuration's
// name in its scope, a user's link for a conversation) naming its holder,
// stamped with the time it was written.
func (s *Store) holdItem(k key, typ, holder string) item {
	it := newItem(k, typ)
	it["holder"] = sv(holder)
	it["at"] = nv(s.now().UnixMilli())
	return it
}

// hold returns the condition under which holder may write the claim k,
// strongly consistent, like the email claims: a claim of holder itself
// is kept (prior is it, so a failed write must not release it); another
// holder's claim that confirmed accepts (its item names the claimed
// value), or that is younger than ClaimTimeout (its writer may still be
// running), is errHeld; an older unconfirmed one, left by an interrupted
// write, may be replaced as long as it does not change meanwhile.
func (s *Store) hold(ctx context.Context, k key, holder string, confirmed func(other string) (bool, error)) (e *expr, cond string, prior item, err error) {
	cur, err := s.get(ctx, k)
	if err != nil {
		return nil, "", nil, err
	}
	e = newExpr()
	if cur == nil {
		return e, "attribute_not_exists(" + e.n(AttrPK) + ")", nil, nil
	}
	other := getStr(cur, "holder")
	if other == holder {
		return e, e.eq("holder", sv(holder)), cur, nil
	}
	ok, err := confirmed(other)
	if err != nil {
		return nil, "", nil, err
	}
	if ok || s.now().Sub(getTime(cur, "at")) < s.claimTimeout {
		return nil, "", nil, errHeld
	}
	return e, e.eq("holder", sv(other)) + " AND " + e.eq("at", cur["at"]), nil, nil
}

// release deletes a claim this write made, if it is still that claim; a
// claim that was there before the write (prior) stays.
func (s *Store) release(ctx context.Context, claim, prior item) {
	if prior != nil {
		return
	}
	e := newExpr()
	k := key{getStr(claim, AttrPK), getStr(claim, AttrSK)}
	_, _ = s.del(context.WithoutCancel(ctx), k, e, e.eq("holder", claim["holder"])+" AND "+e.eq("at", claim["at"]))
}

// unholdCond is the condition of deleting a claim of holder: it is
// holder's, or already gone.
func unholdCond(holder string) (*expr, string) {
	e := newExpr()
	return e, "attribute_not_exists(" + e.n(AttrPK) + ") OR " + e.eq("holder", sv(holder))
}

// ---- transactions ----

func txPut(table string, it item, e *expr, cond string) types.TransactWriteItem {
	p := &types.Put{TableName: aws.String(table), Item: it}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
		p.ExpressionAttributeNames = e.nameMap()
		p.ExpressionAttributeValues = e.valueMap()
	}
	return types.TransactWriteItem{Put: p}
}

func txUpdate(table string, k key, e *expr, upd, cond string) types.TransactWriteItem {
	u := &types.Update{
		TableName:                 aws.String(table),
		Key:                       k.av(),
		UpdateExpression:          aws.String(upd),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
	}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Update: u}
}

func txDelete(table string, k key, e *expr, cond string) types.TransactWriteItem {
	d := &types.Delete{TableName: aws.String(table), Key: k.av()}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
		d.ExpressionAttributeNames = e.nameMap()
		d.ExpressionAttributeValues = e.valueMap()
	}
	return types.TransactWriteItem{Delete: d}
}

func txCheck(table string, k key, e *expr, cond string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 aws.String(table),
		Key:                       k.av(),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
	}}
}

// transact runs one TransactWriteItems, retrying while DynamoDB cancels it
// for contention or throttling. Failed conditions come back as a
// *canceledError naming the items.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return err
		}
		var failed []int
		retry := false
		for i, r := range tce.CancellationReasons {
			switch code := aws.ToString(r.Code); {
			case code == "ConditionalCheckFailed":
				failed = append(failed, i)
			case unavailableCodes[code]:
				retry = true
			}
		}
		if len(failed) > 0 {
			return &canceledError{failed: failed}
		}
		if !retry || attempt >= attempts {
			return err
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
}

// fitsTx reports whether the items fit one transaction.
func fitsTx(items []types.TransactWriteItem) bool {
	if len(items) > maxTxItems {
		return false
	}
	size := 0
	for _, ti := range items {
		if ti.Put != nil {
			size += itemSize(ti.Put.Item)
		} else {
			size += 200
		}
	}
	return size <= maxTxBytes
}
