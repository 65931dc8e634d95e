package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
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
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: it}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
		in.ExpressionAttributeNames = e.nameMap()
		in.ExpressionAttributeValues = e.valueMap()
	}
	_, err := s.db.PutItem(ctx, in)
	if isCondition(err) {
		return errCondition
	}
	return err
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

// batchGet reads items by key, strongly consistent. Absent items are
// missing from the map.
func (s *Store) batchGet(ctx context.Context, keys []key) (map[key]item, error) {
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
				s.table: {Keys: pending[:n], ConsistentRead: aws.Bool(true)},
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
	seen := make(map[key]bool, len(keys))
	var pending []types.WriteRequest
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			pending = append(pending, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k.av()}})
		}
	}
	for attempt := 0; len(pending) > 0; {
		n := min(len(pending), maxBatchWrite)
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: pending[:n]},
		})
		if err != nil {
			return err
		}
		pending = pending[n:]
		if left := out.UnprocessedItems[s.table]; len(left) > 0 {
			pending = append(pending, left...)
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
