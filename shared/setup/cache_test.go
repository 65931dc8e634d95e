package setup

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/cache/cachedstore"
	"github.com/lcgo/lcgo/shared/cache/memcache"
	"github.com/lcgo/lcgo/shared/cache/rediscache"
	"github.com/lcgo/lcgo/shared/chat/redisjobs/redistest"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/dynamo/dynamotest"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

// With REDIS_URI the App's cache is Redis and the store reads model
// configurations through it; a write through a.Store removes the key.
func TestOpenRedisCachesModelConfigs(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	vars := cloudSecrets(map[string]string{"DATA_DIR": t.TempDir(), "CONFIG_PATH": "", "REDIS_URI": "redis://" + addr + "/0"})
	a, err := Open(ctx, Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	if _, ok := a.Cache.(*rediscache.Cache); !ok {
		t.Fatalf("Cache = %T, want rediscache", a.Cache)
	}
	cs, ok := a.Store.(*cachedstore.Store)
	if !ok {
		t.Fatalf("Store = %T, want cachedstore", a.Store)
	}
	if _, ok := cs.Unwrap().(*sqlite.Store); !ok {
		t.Fatalf("wrapped store = %T, want sqlite", cs.Unwrap())
	}

	const key = RedisCachePrefix + "modelconfigs:system:"
	if _, err := a.Store.ModelConfigs(ctx, librechat.ScopeSystem, ""); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, key).Result(); err != nil || v != "[]" {
		t.Fatalf("cached list %q, %v", v, err)
	}
	if d, err := rdb.PTTL(ctx, key).Result(); err != nil || d <= 4*time.Minute || d > 5*time.Minute {
		t.Fatalf("PTTL %v, %v", d, err)
	}
	now := time.Now().UTC()
	mc := &librechat.ModelConfig{ID: a.IDs.ObjectID(), Scope: librechat.ScopeSystem, Name: "fast",
		Spec: json.RawMessage(`{"endpoint":"openAI","model":"gpt-4o-mini"}`), CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateModelConfig(ctx, mc); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("the write left the key: %d, %v", n, err)
	}
	if got, err := a.Store.ModelConfigs(ctx, librechat.ScopeSystem, ""); err != nil || len(got) != 1 || got[0].Name != "fast" {
		t.Fatalf("after the write: %v, %v", got, err)
	}
}

// On Lambda the decorator wraps the DynamoDB store.
func TestOpenDynamoDBWithRedis(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	url := startMinidyn(t, nil)
	table := dynamotest.NewTable(t, dynamotest.Client(url), dynamo.Options{})
	vars := cloudSecrets(map[string]string{
		"DATA_DIR": t.TempDir(), "STORE": "dynamodb", "DYNAMODB_ENDPOINT": url,
		"DYNAMODB_TABLE_PREFIX": table.TablePrefix, "AWS_REGION": "eu-west-3",
		"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "REDIS_URI": "redis://" + addr,
	})
	a, err := Open(ctx, Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	cs, ok := a.Store.(*cachedstore.Store)
	if !ok {
		t.Fatalf("Store = %T, want cachedstore", a.Store)
	}
	if _, ok := cs.Unwrap().(*dynamo.Store); !ok {
		t.Fatalf("wrapped store = %T, want dynamo", cs.Unwrap())
	}
	if _, ok := a.Cache.(*rediscache.Cache); !ok {
		t.Fatalf("Cache = %T, want rediscache", a.Cache)
	}
}

// Without REDIS_URI nothing caches model configurations across requests:
// the store is not wrapped, and the App's cache is in the process.
func TestOpenWithoutRedisDoesNotCacheModelConfigs(t *testing.T) {
	ctx := context.Background()
	vars := cloudSecrets(map[string]string{"DATA_DIR": t.TempDir(), "CONFIG_PATH": ""})
	a, err := Open(ctx, Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	if _, ok := a.Store.(*sqlite.Store); !ok {
		t.Fatalf("Store = %T, want sqlite unwrapped", a.Store)
	}
	if _, ok := a.Cache.(*memcache.Cache); !ok {
		t.Fatalf("Cache = %T, want memcache", a.Cache)
	}

	url := startMinidyn(t, nil)
	table := dynamotest.NewTable(t, dynamotest.Client(url), dynamo.Options{})
	vars = cloudSecrets(map[string]string{
		"DATA_DIR": t.TempDir(), "STORE": "dynamodb", "DYNAMODB_ENDPOINT": url,
		"DYNAMODB_TABLE_PREFIX": table.TablePrefix, "AWS_REGION": "eu-west-3",
		"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
	})
	b, err := Open(ctx, Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Store.Close()
	if _, ok := b.Store.(*dynamo.Store); !ok {
		t.Fatalf("Store = %T, want dynamo unwrapped", b.Store)
	}
	if _, ok := b.Cache.(*memcache.Cache); !ok {
		t.Fatalf("Cache = %T, want memcache", b.Cache)
	}
}
