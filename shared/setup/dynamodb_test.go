package setup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truora/minidyn/server"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/chat/dynamojobs"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/ratelimit/dynamolimit"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/dynamo/dynamotest"
)

// authLog records the Authorization headers a server received.
type authLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *authLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.seen = append(l.seen, r.Header.Get("Authorization")+" token="+r.Header.Get("X-Amz-Security-Token"))
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (l *authLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

func startMinidyn(t *testing.T, log *authLog) string {
	t.Helper()
	var h http.Handler = server.NewServer()
	if log != nil {
		h = log.wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

func cloudSecrets(vars map[string]string) map[string]string {
	vars["JWT_SECRET"], vars["JWT_REFRESH_SECRET"] = "a-secret", "another-secret"
	vars["CREDS_KEY"] = strings.Repeat("ab", 32)
	return vars
}

// STORE=dynamodb in cloud mode builds a working App on an existing table:
// the store, stream jobs and rate limits all in DynamoDB, signed with the
// credentials from the environment.
func TestOpenDynamoDB(t *testing.T) {
	ctx := context.Background()
	log := &authLog{}
	url := startMinidyn(t, log)
	table := dynamotest.NewTable(t, dynamotest.Client(url), dynamo.Options{})
	vars := cloudSecrets(map[string]string{
		"DATA_DIR": t.TempDir(), "STORE": "dynamodb", "DYNAMODB_ENDPOINT": url,
		"DYNAMODB_TABLE_PREFIX": table.TablePrefix, "AWS_REGION": "eu-west-3",
		"AWS_ACCESS_KEY_ID": "AKIDFROMENV", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session-token",
	})
	a, err := Open(ctx, Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	if _, ok := a.Jobs.(*dynamojobs.Jobs); !ok {
		t.Fatalf("Jobs = %T, want dynamojobs", a.Jobs)
	}
	if _, ok := a.Limiter.(*dynamolimit.Limiter); !ok {
		t.Fatalf("Limiter = %T, want dynamolimit", a.Limiter)
	}
	if _, err := a.Store.RoleByName(ctx, "USER"); err != nil {
		t.Fatalf("USER role not seeded: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := &librechat.User{ID: a.IDs.ObjectID(), Email: "ada@example.com", Name: "Ada", Username: "ada",
		Provider: "local", Role: "USER", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := a.Store.UserByEmail(ctx, "ada@example.com")
	if err != nil || got.ID != u.ID || got.Name != "Ada" {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	if err := a.Jobs.Create(ctx, chat.JobInfo{ID: "conv", UserID: u.ID, CreatedAt: now, Request: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if ids, err := a.Jobs.Active(ctx, u.ID); err != nil || len(ids) != 1 {
		t.Fatalf("Active = %v, %v", ids, err)
	}
	if ok, _, err := a.Limiter.Hit(ctx, "login:ada", 1, time.Minute); !ok || err != nil {
		t.Fatalf("first hit = %v, %v", ok, err)
	}
	if ok, _, err := a.Limiter.Hit(ctx, "login:ada", 1, time.Minute); ok || err != nil {
		t.Fatalf("second hit = %v, %v", ok, err)
	}
	// The App's requests were signed with the environment's credentials,
	// for the configured region.
	signed := 0
	for _, h := range log.all() {
		if strings.Contains(h, "Credential=AKIDFROMENV/") && strings.Contains(h, "/eu-west-3/dynamodb/") && strings.HasSuffix(h, "token=session-token") {
			signed++
		}
	}
	if signed < 5 {
		t.Fatalf("%d requests signed with the environment's credentials: %v", signed, log.all())
	}
	// Cloud mode never generates the JWT secrets.
	if _, err := a.Store.Setting(ctx, "secret:jwt"); !librechat.IsNotFound(err) {
		t.Fatalf("cloud mode stored a generated secret: %v", err)
	}
}

// The local runner with an endpoint creates the table when it is missing,
// generates its secrets, and keeps them across restarts.
func TestOpenDynamoDBLocalCreatesTable(t *testing.T) {
	ctx := context.Background()
	url := startMinidyn(t, nil)
	vars := map[string]string{"DATA_DIR": t.TempDir(), "STORE": "dynamodb", "DYNAMODB_ENDPOINT": url,
		"DYNAMODB_TABLE_PREFIX": "dev-", "DYNAMODB_NO_TRANSACTIONS": "true"}
	a, err := Open(ctx, Options{Local: true, Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	secret := a.Config.Auth.JWTSecret
	if len(secret) != 64 {
		t.Fatalf("generated JWT secret %q", secret)
	}
	b, err := Open(ctx, Options{Local: true, Getenv: env(vars)})
	if err != nil {
		t.Fatalf("second start on the existing table: %v", err)
	}
	if b.Config.Auth.JWTSecret != secret {
		t.Fatal("a restart generated a new secret")
	}
	if _, err := b.Store.RoleByName(ctx, "ADMIN"); err != nil {
		t.Fatalf("ADMIN role: %v", err)
	}
	if files, err := b.Store.Files(ctx, "u"); err != nil || len(files) != 0 {
		t.Fatalf("Files = %v, %v", files, err)
	}
}

func TestOpenDynamoDBErrors(t *testing.T) {
	ctx := context.Background()
	url := startMinidyn(t, nil)
	table := dynamotest.NewTable(t, dynamotest.Client(url), dynamo.Options{})
	base := func() map[string]string {
		return map[string]string{"DATA_DIR": t.TempDir(), "STORE": "dynamodb", "DYNAMODB_ENDPOINT": url,
			"DYNAMODB_TABLE_PREFIX": table.TablePrefix}
	}

	// The JWT secrets are still required in cloud mode.
	if _, err := Open(ctx, Options{Getenv: env(base())}); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Fatalf("cloud mode without secrets: %v", err)
	}
	// Without an endpoint, a region and credentials are required.
	vars := cloudSecrets(base())
	delete(vars, "DYNAMODB_ENDPOINT")
	if _, err := Open(ctx, Options{Getenv: env(vars)}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("no region: %v", err)
	}
	vars["AWS_REGION"] = "us-east-1"
	if _, err := Open(ctx, Options{Getenv: env(vars)}); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("no credentials: %v", err)
	}
}
