package setup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/platform/awsutil"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// dynamoClient builds the DynamoDB client of STORE=dynamodb: region from
// AWS_REGION (or AWS_DEFAULT_REGION), credentials from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and DYNAMODB_ENDPOINT as
// the endpoint when set. With an endpoint (an emulator) the region
// defaults to us-east-1, missing credentials are replaced by placeholders
// and the response checksum check is off (minidyn sends none).
func dynamoClient(cfg *config.Config, getenv func(string) (string, bool)) (*dynamodb.Client, error) {
	env := awsutil.FromEnv(getenv)
	endpoint := cfg.DynamoDB.Endpoint
	region := cfg.DynamoDB.Region
	if region == "" {
		region = env.Region
	}
	if region == "" && endpoint != "" {
		region = "us-east-1"
	}
	if region == "" {
		return nil, errors.New("STORE=dynamodb: AWS_REGION must be set")
	}
	creds, err := env.Credentials(endpoint != "")
	if err != nil {
		return nil, fmt.Errorf("STORE=dynamodb: %w", err)
	}
	o := dynamodb.Options{Region: region, Credentials: creds}
	if endpoint != "" {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true
	}
	return dynamodb.New(o), nil
}

// openDynamo opens the DynamoDB store. The local runner with
// DYNAMODB_ENDPOINT creates the table when it is missing (an existing one
// is kept); anywhere else the table must exist (the templates create it).
func openDynamo(ctx context.Context, cfg *config.Config, getenv func(string) (string, bool), local bool) (*dynamodb.Client, dynamo.Options, librechat.Store, error) {
	client, err := dynamoClient(cfg, getenv)
	if err != nil {
		return nil, dynamo.Options{}, nil, err
	}
	opts := dynamo.Options{TablePrefix: cfg.DynamoDB.TablePrefix, NoTransactions: cfg.DynamoDB.NoTransactions}
	if local && cfg.DynamoDB.Endpoint != "" {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := dynamo.CreateTables(cctx, client, opts)
		cancel()
		if err != nil {
			return nil, opts, nil, fmt.Errorf("STORE=dynamodb: creating table %s at %s: %w", opts.TableName(), cfg.DynamoDB.Endpoint, err)
		}
	}
	st, err := dynamo.Open(ctx, client, opts)
	if err != nil {
		return nil, opts, nil, err
	}
	return client, opts, st, nil
}

var _ librechat.Store = (*dynamo.Store)(nil)
