package dynamo_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/dynamo/dynamotest"
	"github.com/lcgo/lcgo/shared/store/storetest"
)

// opener opens the adapter on a fresh table of the server for each test.
func opener(client *dynamodb.Client, base dynamo.Options) func(t *testing.T) librechat.Store {
	return func(t *testing.T) librechat.Store {
		opts := dynamotest.NewTable(t, client, base)
		st, err := dynamo.Open(context.Background(), client, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return st
	}
}

// TestConformanceMinidyn runs the suite against minidyn with transactions.
func TestConformanceMinidyn(t *testing.T) {
	client, _ := dynamotest.Minidyn(t, forbidScans(t))
	storetest.Run(t, opener(client, dynamo.Options{}))
}

// TestConformanceMinidynNoTransactions runs the suite against minidyn
// through the fallback that never calls TransactWriteItems.
func TestConformanceMinidynNoTransactions(t *testing.T) {
	client, _ := dynamotest.Minidyn(t, func(h http.Handler) http.Handler { return forbidTransactions(t)(forbidScans(t)(h)) })
	storetest.Run(t, opener(client, dynamo.Options{NoTransactions: true}))
}

// TestConformanceDynalite runs the suite against dynalite, which has no
// transactions.
func TestConformanceDynalite(t *testing.T) {
	client := dynamotest.Dynalite(t)
	storetest.Run(t, opener(client, dynamo.Options{NoTransactions: true}))
}
