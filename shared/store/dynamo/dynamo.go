// Package dynamo is the storage adapter for Amazon DynamoDB. It implements
// librechat.Store on one table with three global secondary indexes; the
// layout, the access pattern each key serves and what changes without
// transactions are written down in infra/dynamodb.md.
//
// Every read that decides a write (uniqueness, ownership, compare-and-swap)
// is a strongly consistent read of the base table or a conditional write.
// Only the lists (conversations, shared links, files, groups, model
// configurations, audit, users) read the secondary indexes, which DynamoDB
// keeps eventually consistent. Search reads an inverted index the adapter
// keeps in the base table.
//
// With Options.NoTransactions the adapter never calls TransactWriteItems
// (for emulators and deployments without it) and orders its writes so that
// a half-finished operation is invisible to readers, compensating when a
// later step fails.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
)

// TableBaseName is the table's name after Options.TablePrefix.
const TableBaseName = "librechat"

// Attribute and index names of the table. The three indexes share one
// partition key and differ in their sort key; see infra/dynamodb.md.
const (
	AttrPK  = "PK"
	AttrSK  = "SK"
	AttrGPK = "gpk"
	AttrGS1 = "gs1"
	AttrGS2 = "gs2"
	AttrGS3 = "gs3"
	// AttrTTL holds the epoch second after which DynamoDB's TTL may delete
	// the item; the adapter treats such an item as absent from then on.
	AttrTTL = "ttl"

	Index1 = "gsi1" // (gpk, gs1): conversations and shared links by updatedAt
	Index2 = "gsi2" // (gpk, gs2): conversations and shared links by createdAt; files, audit, users by time
	Index3 = "gsi3" // (gpk, gs3): conversations and shared links by title; groups by name; model configurations
)

// Defaults of Options.
const (
	DefaultExpiryGrace  = 24 * time.Hour
	DefaultClaimTimeout = 20 * time.Minute
)

// Options configure a Store.
type Options struct {
	// TablePrefix is prepended to TableBaseName, e.g. "prod-".
	TablePrefix string
	// NoTransactions avoids TransactWriteItems: multi-item writes become
	// ordered single-item writes with compensation (infra/dynamodb.md says
	// what is weaker).
	NoTransactions bool
	// Clock decides when an item with a TTL counts as expired; nil is the
	// system clock.
	Clock librechat.Clock
	// ExpiryGrace is how long an expiring item (session, token, temporary
	// conversation or message) stays readable after the later of its
	// expiry and its last write; 0 is DefaultExpiryGrace.
	ExpiryGrace time.Duration
	// ClaimTimeout is how old a step of an interrupted write must be before
	// another write may undo it: an email claim no account confirms, or a
	// pending transaction record whose amount was never added (only a crash
	// between two writes leaves either). It must exceed the longest a
	// writer can still be running (the default is above Lambda's 15-minute
	// maximum); 0 is DefaultClaimTimeout.
	ClaimTimeout time.Duration
	// EnableTTL makes CreateTables turn on DynamoDB's TTL on AttrTTL
	// (the emulators lack UpdateTimeToLive).
	EnableTTL bool
}

// TableName is the full name of the table.
func (o Options) TableName() string { return o.TablePrefix + TableBaseName }

// Store is a librechat.Store on one DynamoDB table.
type Store struct {
	db           *dynamodb.Client
	table        string
	tx           bool
	clock        librechat.Clock
	grace        time.Duration
	claimTimeout time.Duration
}

// Store implements every storage interface.
var _ librechat.Store = (*Store)(nil)

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Open returns a Store on the table named by opts, which must exist (see
// CreateTables and infra/dynamodb.md). It makes no request: a missing table
// surfaces on first use.
func Open(ctx context.Context, client *dynamodb.Client, opts Options) (*Store, error) {
	const op = "dynamo.Open"
	if client == nil {
		return nil, withOp(librechat.E(librechat.KindInvalid, "dynamo: a client is required"), op)
	}
	if err := ctx.Err(); err != nil {
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	s := &Store{
		db:           client,
		table:        opts.TableName(),
		tx:           !opts.NoTransactions,
		clock:        opts.Clock,
		grace:        opts.ExpiryGrace,
		claimTimeout: opts.ClaimTimeout,
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.grace <= 0 {
		s.grace = DefaultExpiryGrace
	}
	if s.claimTimeout <= 0 {
		s.claimTimeout = DefaultClaimTimeout
	}
	return s, nil
}

// Close releases nothing: the client belongs to the caller.
func (s *Store) Close() error { return nil }

// TableSchema is the CreateTable request for the table named by opts:
// on-demand billing, (PK, SK) strings, and Index1..Index3 projecting every
// attribute.
func TableSchema(opts Options) *dynamodb.CreateTableInput {
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	gsi := func(name, sk string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrGPK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(opts.TableName()),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			str(AttrPK), str(AttrSK), str(AttrGPK), str(AttrGS1), str(AttrGS2), str(AttrGS3),
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(Index1, AttrGS1), gsi(Index2, AttrGS2), gsi(Index3, AttrGS3),
		},
	}
}

// CreateTables creates the table (an existing one is kept) and waits until
// it and its indexes are usable, polling DescribeTable: emulators that
// report no status at all count as ready. With opts.EnableTTL it then turns
// on TTL. It is meant for tests and local runs; deployments create the
// table from the templates.
func CreateTables(ctx context.Context, client *dynamodb.Client, opts Options) error {
	const op = "dynamo.CreateTables"
	_, err := client.CreateTable(ctx, TableSchema(opts))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fail(op, err)
	}
	name := opts.TableName()
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fail(op, err)
		}
		if tableReady(out.Table) {
			break
		}
		select {
		case <-ctx.Done():
			return librechat.Wrap(librechat.KindUnavailable, op, fmt.Errorf("table %s not active: %w", name, ctx.Err()))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !opts.EnableTTL {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil && !strings.Contains(err.Error(), "already enabled") {
		return fail(op, err)
	}
	return nil
}

func tableReady(t *types.TableDescription) bool {
	if t == nil {
		return false
	}
	if t.TableStatus != types.TableStatusActive && t.TableStatus != "" {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive && g.IndexStatus != "" {
			return false
		}
	}
	return true
}

// DeleteTables deletes the table named by opts; an absent table is not an
// error. It is meant for tests.
func DeleteTables(ctx context.Context, client *dynamodb.Client, opts Options) error {
	_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(opts.TableName())})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fail("dynamo.DeleteTables", err)
	}
	return nil
}
