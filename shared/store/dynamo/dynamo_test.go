package dynamo_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/dynamo/dynamotest"
	"github.com/lcgo/lcgo/shared/store/storetest"
)

// coreStore is the adapter as a librechat.Store for the suite's core and
// chat groups; the library methods are not implemented yet and those
// groups are not run.
type coreStore struct {
	*dynamo.Store
	librechat.LibraryStore
}

// groups are the suite's groups the adapter implements.
var groups = slices.Concat(storetest.CoreGroups, storetest.ChatGroups)

func opener(client *dynamodb.Client, base dynamo.Options) func(t *testing.T) librechat.Store {
	return func(t *testing.T) librechat.Store {
		opts := dynamotest.NewTable(t, client, base)
		st, err := dynamo.Open(context.Background(), client, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return coreStore{Store: st}
	}
}

// TestConformanceMinidyn runs the suite against minidyn with transactions.
func TestConformanceMinidyn(t *testing.T) {
	client, _ := dynamotest.Minidyn(t, nil)
	storetest.RunGroups(t, opener(client, dynamo.Options{}), groups...)
}

// TestConformanceMinidynNoTransactions runs the suite against minidyn
// through the fallback that never calls TransactWriteItems.
func TestConformanceMinidynNoTransactions(t *testing.T) {
	client, _ := dynamotest.Minidyn(t, forbidTransactions(t))
	storetest.RunGroups(t, opener(client, dynamo.Options{NoTransactions: true}), groups...)
}

// TestConformanceDynalite runs the suite against dynalite, which has no
// transactions.
func TestConformanceDynalite(t *testing.T) {
	client := dynamotest.Dynalite(t)
	storetest.RunGroups(t, opener(client, dynamo.Options{NoTransactions: true}), groups...)
}
