package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// indexTable serves h, creates the store's table in it and returns a
// client and the table's name.
func indexTable(t *testing.T, h http.Handler) (*dynamodb.Client, *string) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials:                     credentials.NewStaticCredentialsProvider("a", "b", ""),
		DisableValidateResponseChecksum: true,
	})
	if err := dynamo.CreateTables(context.Background(), c, dynamo.Options{}); err != nil {
		t.Fatal(err)
	}
	return c, aws.String(dynamo.Options{}.TableName())
}

// indexWrites makes the writes that break minidyn's indexes and reports
// what a Query of gsi2 finds for each partition afterwards.
func indexWrites(t *testing.T, c *dynamodb.Client, table *string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	key := func(pk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s(pk), "SK": s("x")}
	}
	put := func(pk, gpk string) {
		it := key(pk)
		it["gpk"], it["gs2"] = s(gpk), s(pk)
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(pk, expr string, values map[string]types.AttributeValue) {
		if _, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key(pk),
			UpdateExpression: aws.String(expr), ExpressionAttributeValues: values}); err != nil {
			t.Fatal(err)
		}
	}
	put("a1", "A")
	put("b1", "B")
	// An upsert that gives a new item its index keys.
	update("c1", "SET gpk = :g, gs2 = :s", map[string]types.AttributeValue{":g": s("C"), ":s": s("c1")})
	// An item leaves the index, then goes.
	put("d1", "D")
	update("d1", "REMOVE gpk", nil)
	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key("d1")}); err != nil {
		t.Fatal(err)
	}
	put("a2", "A")

	found := map[string][]string{}
	for _, p := range []string{"A", "B", "C", "D"} {
		out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: table, IndexName: aws.String(dynamo.Index2),
			KeyConditionExpression:    aws.String("gpk = :g"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":g": s(p)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			found[p] = append(found[p], it["PK"].(*types.AttributeValueMemberS).Value)
		}
		sort.Strings(found[p])
	}
	return found
}

func TestMinidynIndexesStayConsistent(t *testing.T) {
	m := newMinidyn(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if m.repair == nil {
		t.Fatal("minidyn's internals changed: see minidyn.go")
	}
	c, table := indexTable(t, m)
	got := indexWrites(t, c, table)
	want := map[string][]string{"A": {"a1", "a2"}, "B": {"b1"}, "C": {"c1"}}
	if len(got) != len(want) || len(got["A"]) != 2 || len(got["B"]) != 1 || len(got["C"]) != 1 || got["A"][1] != "a2" {
		t.Errorf("Query of gsi2 found %v, want %v", got, want)
	}
}

// TestMinidynStillNeedsRepair tells when minidyn no longer breaks its
// indexes, so that the repair can go.
func TestMinidynStillNeedsRepair(t *testing.T) {
	c, table := indexTable(t, server.NewServer())
	got := indexWrites(t, c, table)
	if len(got["A"]) == 2 && len(got["B"]) == 1 && len(got["C"]) == 1 {
		t.Log("this minidyn keeps its indexes consistent: the repair in minidyn.go is no longer needed")
	} else {
		t.Logf("unrepaired, a Query of gsi2 finds %v", got)
	}
}
