// Package dynamolimit is a ratelimit.Limiter on DynamoDB, for deployments
// without Redis: login lockout and registration limits hold across
// function instances. It counts in the table of shared/store/dynamo, one
// item per key:
//
//	PK RL#<key>  SK RL   n (hits), end (window end, Unix ms), ttl
//
// A hit is one conditional UpdateItem that ADDs 1 while the window is open
// (end > now); when there is no open window, a conditional PutItem starts
// one (n = 1, end = now + window) only if the item is still absent or
// over, and a writer that loses that race counts again. The window is
// fixed from its first hit, like redislimit's; the ttl attribute lets
// DynamoDB delete finished windows, and an item past its end is ignored
// whether or not it was deleted.
package dynamolimit

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/platform/awsutil"
	"github.com/lcgo/lcgo/shared/ratelimit"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// Options configure a Limiter.
type Options struct {
	// Table is the table's full name (dynamo.Options.TableName()).
	// Default dynamo.TableBaseName.
	Table string
	// Prefix starts every key's partition. Default "RL#".
	Prefix string
	// Clock decides the windows; nil is the system clock. Instances
	// sharing a table should agree on the time to within a small part of
	// the shortest window.
	Clock librechat.Clock
}

// Limiter counts hits in DynamoDB.
type Limiter struct {
	db    *dynamodb.Client
	table string
	opt   Options
}

var _ ratelimit.Limiter = (*Limiter)(nil)

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New returns a limiter on client's table.
func New(client *dynamodb.Client, opts Options) *Limiter {
	if opts.Table == "" {
		opts.Table = dynamo.TableBaseName
	}
	if opts.Prefix == "" {
		opts.Prefix = "RL#"
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	return &Limiter{db: client, table: opts.Table, opt: opts}
}

// attempts bounds the retries of a hit that keeps losing the race to
// start a window.
const attempts = 20

func esc(s string) string {
	if !strings.ContainsAny(s, "%#") {
		return s
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

func num(v types.AttributeValue) int64 {
	if n, ok := v.(*types.AttributeValueMemberN); ok {
		x, _ := strconv.ParseInt(n.Value, 10, 64)
		return x
	}
	return 0
}

func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// Hit implements ratelimit.Limiter.
func (l *Limiter) Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	const op = "dynamolimit.Hit"
	if window < time.Millisecond {
		window = time.Millisecond
	}
	k := map[string]types.AttributeValue{dynamo.AttrPK: sv(l.opt.Prefix + esc(key)), dynamo.AttrSK: sv("RL")}
	for attempt := 0; attempt < attempts; attempt++ {
		now := l.opt.Clock.Now().UnixMilli()
		out, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &l.table,
			Key:                       k,
			UpdateExpression:          aws.String("ADD #n :one"),
			ConditionExpression:       aws.String("#end > :now"),
			ExpressionAttributeNames:  map[string]string{"#n": "n", "#end": "end"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": nv(1), ":now": nv(now)},
			ReturnValues:              types.ReturnValueAllNew,
		})
		if err == nil {
			n, end := num(out.Attributes["n"]), num(out.Attributes["end"])
			if n > int64(limit) {
				return false, min(time.Duration(max(end-now, 1))*time.Millisecond, window), nil
			}
			return true, 0, nil
		}
		if !awsutil.IsConditionFailed(err) {
			return false, 0, awsutil.Wrap(op, err)
		}
		// No open window: start one, unless another hit just did.
		end := now + window.Milliseconds()
		it := map[string]types.AttributeValue{
			dynamo.AttrPK: k[dynamo.AttrPK], dynamo.AttrSK: k[dynamo.AttrSK],
			"n": nv(1), "end": nv(end), dynamo.AttrTTL: nv((end + 999) / 1000),
		}
		_, err = l.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &l.table,
			Item:                      it,
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #end <= :now"),
			ExpressionAttributeNames:  map[string]string{"#pk": dynamo.AttrPK, "#end": "end"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": nv(now)},
		})
		if err == nil {
			if limit < 1 {
				return false, window, nil
			}
			return true, 0, nil
		}
		if !awsutil.IsConditionFailed(err) {
			return false, 0, awsutil.Wrap(op, err)
		}
	}
	return false, 0, librechat.E(librechat.KindUnavailable, "the database is busy; retry shortly")
}
