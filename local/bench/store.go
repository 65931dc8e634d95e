package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/lcgo/lcgo/shared/routes"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

// storeKit is the store behind the functions in one set of Lambda
// columns.
type storeKit struct {
	name string
	// fresh makes an empty store for bootstraps whose data directory is
	// dataDir and returns their environment and a cleanup.
	fresh func(dataDir string) (map[string]string, func(), error)
	// open opens, from the bench process, the store that env names.
	open func(env map[string]string) (seedStore, func(), error)
}

// sqliteKit keeps each measurement's database in its data directory, as
// setup.Open does by default.
func sqliteKit() storeKit {
	return storeKit{
		name: "sqlite",
		fresh: func(dataDir string) (map[string]string, func(), error) {
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, nil, err
			}
			return lambdaEnv(dataDir, map[string]string{"STORE": "sqlite"}), func() {}, nil
		},
		open: func(env map[string]string) (seedStore, func(), error) {
			st, err := sqlite.Open(context.Background(), filepath.Join(env["DATA_DIR"], "librechat.db"))
			if err != nil {
				return nil, nil, err
			}
			return st, func() { st.Close() }, nil
		},
	}
}

// minidynServer is an in-process github.com/truora/minidyn server on a
// loopback port.
type minidynServer struct {
	url    string
	client *dynamodb.Client
	srv    *http.Server
	seq    atomic.Int64
}

func startMinidyn() (*minidynServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &minidynServer{url: "http://" + l.Addr().String(), srv: &http.Server{Handler: server.NewServer()}}
	go func() { _ = m.srv.Serve(l) }()
	m.client = dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(m.url),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
	})
	return m, nil
}

func (m *minidynServer) close() { _ = m.srv.Close() }

// kit gives each fresh store its own table.
func (m *minidynServer) kit() storeKit {
	return storeKit{
		name: "dynamodb",
		fresh: func(dataDir string) (map[string]string, func(), error) {
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, nil, err
			}
			opts := dynamo.Options{TablePrefix: fmt.Sprintf("bench%d-", m.seq.Add(1))}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := dynamo.CreateTables(ctx, m.client, opts); err != nil {
				return nil, nil, fmt.Errorf("create table %s: %w", opts.TableName(), err)
			}
			env := lambdaEnv(dataDir, map[string]string{
				"STORE":                 "dynamodb",
				"DYNAMODB_ENDPOINT":     m.url,
				"DYNAMODB_TABLE_PREFIX": opts.TablePrefix,
				"AWS_ACCESS_KEY_ID":     "local",
				"AWS_SECRET_ACCESS_KEY": "local",
			})
			done := func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = dynamo.DeleteTables(ctx, m.client, opts)
			}
			return env, done, nil
		},
		// Seeding writes without transactions: the items are the same, and
		// minidyn answers single-item writes several times faster.
		open: func(env map[string]string) (seedStore, func(), error) {
			st, err := dynamo.Open(context.Background(), m.client, dynamo.Options{TablePrefix: env["DYNAMODB_TABLE_PREFIX"], NoTransactions: true})
			if err != nil {
				return nil, nil, err
			}
			return st, func() {}, nil
		},
	}
}

// tableUsed reports whether a bootstrap run against the table named by env
// wrote to it: setup seeds the roles into whatever store it opens.
func (m *minidynServer) tableUsed(env map[string]string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := m.client.Scan(ctx, &dynamodb.ScanInput{
		TableName: aws.String(dynamo.Options{TablePrefix: env["DYNAMODB_TABLE_PREFIX"]}.TableName()),
		Limit:     aws.Int32(1),
	})
	if err != nil {
		return false, err
	}
	return out.Count > 0, nil
}

// dynamoSupported starts the config bootstrap once with STORE=dynamodb and
// reports whether it used the table: a setup that does not know the store
// yet falls back to SQLite in the data directory.
func dynamoSupported(m *minidynServer, bin, dataDir string) (bool, error) {
	env, done, err := m.kit().fresh(dataDir)
	if err != nil {
		return false, err
	}
	defer done()
	b, err := startBootstrap(routes.Config, bin, env)
	if err != nil {
		return false, err
	}
	b.stop()
	return m.tableUsed(env)
}
