package dynamojobs

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/platform/awsutil"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

type item = map[string]types.AttributeValue

// Attribute names. PK, SK and ttl are the table's (see shared/store/dynamo).
const (
	aPK      = dynamo.AttrPK
	aSK      = dynamo.AttrSK
	aTTL     = dynamo.AttrTTL
	aID      = "id"
	aUser    = "uid"
	aStatus  = "st"
	aGen     = "gen"
	aCount   = "a"    // frames appended (indexes handed out by Append)
	aEndTok  = "etok" // the token of the winning End's frames
	aEndN    = "e"    // how many frames the winning End added
	aCreated = "created"
	aClaimed = "claimed"
	aBeat    = "beat"
	aEnded   = "ended"
	aAt      = "at"
	aPrevGen = "pgen" // the previous generation of the id, for its readers
	aPrevN   = "pa"
	aPrevTok = "petok"
	aPrevE   = "pe"
	aEvent   = "ev"
	aData    = "d"
	aZipped  = "z"
	aParts   = "np"
	aPart    = "pt"
)

// statusRemoved marks the item of a removed job: it reads as absent, but
// readers already on the job still find where its frames end.
const statusRemoved = "removed"

// Size limits. DynamoDB items are at most 400 KB.
const (
	deflateOver = 16 << 10 // bodies above this are deflated when that helps
	maxInline   = 350_000  // body bytes kept in one item
	maxParts    = 40       // a body over maxInline is split into at most this many part items
	maxTxItems  = 100      // TransactWriteItems limit
	maxTxBytes  = 3 << 20  // under the 4 MB request limit
	maxIDBytes  = 512      // longest job or user id accepted
	attempts    = 40       // bound of every optimistic retry loop
	staleIndex  = time.Minute
)

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func bv(b []byte) types.AttributeValue  { return &types.AttributeValueMemberB{Value: b} }
func boolv(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

func getStr(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getNum(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getBin(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func getFlag(it item, name string) bool {
	v, ok := it[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func has(it item, name string) bool {
	_, ok := it[name]
	return ok
}

// esc makes a value safe as one '#'-separated component of a key.
func esc(s string) string {
	if !strings.ContainsAny(s, "%#") {
		return s
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

// Keys. Every job item lives in the partition JOB#<id>; a user's index of
// jobs in JU#<user>. Generations are hex, so they never contain '#'.
func jobPK(id string) string        { return "JOB#" + esc(id) }
func userPK(uid string) string      { return "JU#" + esc(uid) }
func infoSK() string                { return "INFO" }
func reqSK(gen string) string       { return "R#" + gen }
func indexSK(id, gen string) string { return "J#" + esc(id) + "#" + gen }
func framePrefix(gen string) string { return "F#" + gen + "#" }
func appendSK(gen string, i int64) string {
	return fmt.Sprintf("F#%s#%010d", gen, i)
}
func endPrefix(gen, tok string) string { return "F#" + gen + "#E#" + tok + "#" }
func endSK(gen, tok string, k int) string {
	return fmt.Sprintf("%s%04d", endPrefix(gen, tok), k)
}
func partSK(sk string, p int) string { return fmt.Sprintf("%s#P%03d", sk, p) }

func keyOf(pk, sk string) item { return item{aPK: sv(pk), aSK: sv(sk)} }

// newGen returns a random generation or token.
func newGen(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// body is a value stored in an item and, when large, in part items.
type body struct {
	inline []byte
	zipped bool
	parts  [][]byte
}

func (b body) size() int {
	n := len(b.inline)
	for _, p := range b.parts {
		n += len(p)
	}
	return n
}

func encode(data []byte) (body, error) {
	var b body
	raw := data
	if len(raw) > deflateOver {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestSpeed)
		_, _ = w.Write(raw)
		_ = w.Close()
		if buf.Len() < len(raw) {
			raw, b.zipped = buf.Bytes(), true
		}
	}
	if len(raw) <= maxInline {
		b.inline = bytes.Clone(raw)
		return b, nil
	}
	for len(raw) > 0 {
		n := min(len(raw), maxInline)
		b.parts = append(b.parts, bytes.Clone(raw[:n]))
		raw = raw[n:]
	}
	if len(b.parts) > maxParts {
		return body{}, librechat.E(librechat.KindTooLarge, "the frame is too large to keep")
	}
	return b, nil
}

// items returns the item for pk/sk holding b (with attrs added) and the
// part items, which must be written before it.
func (b body) items(pk, sk string, ttl int64, attrs item) (main item, parts []item) {
	main = keyOf(pk, sk)
	for k, v := range attrs {
		main[k] = v
	}
	main[aTTL] = nv(ttl)
	if len(b.inline) > 0 {
		main[aData] = bv(b.inline)
	}
	if b.zipped {
		main[aZipped] = boolv(true)
	}
	if len(b.parts) > 0 {
		main[aParts] = nv(int64(len(b.parts)))
	}
	for p, data := range b.parts {
		parts = append(parts, item{aPK: sv(pk), aSK: sv(partSK(sk, p)), aTTL: nv(ttl), aData: bv(data), aPart: boolv(true)})
	}
	return main, parts
}

// decode returns the body of a main item, reading its parts when it has
// some.
func (j *Jobs) decode(ctx context.Context, it item) ([]byte, error) {
	raw := getBin(it, aData)
	if n := int(getNum(it, aParts)); n > 0 {
		pk, sk := getStr(it, aPK), getStr(it, aSK)
		var parts [][]byte
		err := j.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :p)"),
			ExpressionAttributeNames:  map[string]string{"#pk": aPK, "#sk": aSK},
			ExpressionAttributeValues: item{":pk": sv(pk), ":p": sv(sk + "#P")},
		}, func(p item) bool {
			parts = append(parts, getBin(p, aData))
			return true
		})
		if err != nil {
			return nil, err
		}
		if len(parts) != n {
			return nil, librechat.E(librechat.KindOther, "dynamojobs: %s/%s has %d of its %d parts", pk, sk, len(parts), n)
		}
		raw = bytes.Join(parts, nil)
	}
	if getFlag(it, aZipped) {
		out, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return nil, librechat.Wrap(librechat.KindOther, "dynamojobs.decode", err)
		}
		return out, nil
	}
	return raw, nil
}

// ---- requests ----

func (j *Jobs) get(ctx context.Context, pk, sk string) (item, error) {
	out, err := j.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &j.table,
		Key:            keyOf(pk, sk),
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

func (j *Jobs) put(ctx context.Context, it item) error {
	_, err := j.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &j.table, Item: it})
	return err
}

func (j *Jobs) del(ctx context.Context, pk, sk string) error {
	_, err := j.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &j.table, Key: keyOf(pk, sk)})
	return err
}

// query runs a strongly consistent Query page after page; fn returns false
// to stop.
func (j *Jobs) query(ctx context.Context, in *dynamodb.QueryInput, fn func(item) bool) error {
	in.TableName = &j.table
	in.ConsistentRead = aws.Bool(true)
	for {
		out, err := j.db.Query(ctx, in)
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

// batchGet reads items by key, strongly consistent; absent ones are left
// out. Keys must be distinct.
func (j *Jobs) batchGet(ctx context.Context, keys []item) ([]item, error) {
	var found []item
	for len(keys) > 0 {
		n := min(len(keys), 100)
		pending := keys[:n]
		keys = keys[n:]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt >= attempts {
				return nil, librechat.E(librechat.KindUnavailable, "the database is busy; retry shortly")
			}
			if attempt > 0 {
				if err := pause(ctx, attempt); err != nil {
					return nil, err
				}
			}
			out, err := j.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{
					j.table: {Keys: pending, ConsistentRead: aws.Bool(true)},
				},
			})
			if err != nil {
				return nil, err
			}
			found = append(found, out.Responses[j.table]...)
			pending = out.UnprocessedKeys[j.table].Keys
		}
	}
	return found, nil
}

// pause waits a short random time growing with the attempt.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(1+mrand.IntN(1<<min(attempt, 6))) * time.Millisecond
	return sleep(ctx, d)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fail classifies err for op, passing the context's own errors through.
func fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return awsutil.Wrap(op, err)
}
