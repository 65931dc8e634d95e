// Package setup builds the App from the environment: it loads the
// configuration, opens the store the configuration names, fills in secrets
// the local runner may generate, and seeds the roles. Every entry point (the
// local runner, each Lambda and Cloud Functions binary) starts here.
package setup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/cache/cachedstore"
	"github.com/lcgo/lcgo/shared/cache/memcache"
	"github.com/lcgo/lcgo/shared/cache/rediscache"
	"github.com/lcgo/lcgo/shared/chat/dynamojobs"
	"github.com/lcgo/lcgo/shared/chat/redisjobs"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/mail"
	"github.com/lcgo/lcgo/shared/ratelimit"
	"github.com/lcgo/lcgo/shared/ratelimit/dynamolimit"
	"github.com/lcgo/lcgo/shared/ratelimit/redislimit"
	"github.com/lcgo/lcgo/shared/roles"
	"github.com/lcgo/lcgo/shared/store/dynamo"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

// Options say where the process runs.
type Options struct {
	// Local marks the local runner: missing secrets are generated and kept
	// in the store. Anywhere else they must be configured.
	Local bool
	// Getenv looks up configuration; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Open builds the App. The caller closes a.Store when done.
//
// When SECRETS_ARN is set, the Secrets Manager secret it names is read
// first and its variables fill those the environment leaves unset (see
// withSecrets). STORE picks the store: SQLite under DATA_DIR, or the
// DynamoDB table DYNAMODB_TABLE_PREFIX + "librechat". Stream jobs and rate
// limits are shared through Redis when REDIS_URI is set, else through the
// DynamoDB table when STORE=dynamodb, else kept in the process.
//
// With REDIS_URI, a.Cache is Redis (keys under RedisCachePrefix) and the
// store's model configuration lists and group memberships are read through
// it (cachedstore), every write through a.Store invalidating what it
// changes. Without, a.Cache is kept in the process and the store is not
// wrapped: each instance reads model configurations from the store, so
// instances never disagree.
func Open(ctx context.Context, opt Options) (*app.App, error) {
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	if arn, ok := getenv("SECRETS_ARN"); ok && strings.TrimSpace(arn) != "" {
		arn = strings.TrimSpace(arn)
		withVars, vars, err := withSecrets(ctx, arn, getenv)
		if err != nil {
			return nil, err
		}
		getenv = withVars
		log.Info("read the secret's variables", "arn", arn, "count", len(vars))
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Cloud = !opt.Local
	var (
		st     librechat.Store
		dyn    *dynamodb.Client
		dyopts dynamo.Options
	)
	switch cfg.Store {
	case "dynamodb":
		dyn, dyopts, st, err = openDynamo(ctx, cfg, getenv, opt.Local)
		if err != nil {
			return nil, err
		}
	default:
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		st, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "librechat.db"))
		if err != nil {
			return nil, err
		}
	}
	clock := app.SystemClock{}
	a := &app.App{
		Config:  cfg,
		Store:   st,
		Clock:   clock,
		IDs:     &app.RandomIDs{Clock: clock},
		Limiter: ratelimit.NewMemory(clock),
		Mailer:  mailer(cfg, log),
		HTTP:    &http.Client{Timeout: 30 * time.Second},
		Log:     log,
		Cache:   memcache.New(memcache.Options{Clock: clock}),
	}
	switch {
	case cfg.RedisURI != "":
		ropts, err := redis.ParseURL(cfg.RedisURI)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("REDIS_URI: %w", err)
		}
		client := redis.NewClient(ropts)
		a.Jobs = redisjobs.New(client, redisjobs.Options{})
		a.Limiter = redislimit.New(client, "")
		a.Cache = rediscache.New(client, rediscache.Options{Prefix: RedisCachePrefix})
		a.Store = cachedstore.New(st, a.Cache, cachedstore.Options{Log: log})
	case dyn != nil:
		table := dyopts.TableName()
		a.Jobs = dynamojobs.New(dyn, dynamojobs.Options{Table: table, NoTransactions: dyopts.NoTransactions})
		a.Limiter = dynamolimit.New(dyn, dynamolimit.Options{Table: table})
	}
	if err := fillSecrets(ctx, a, opt.Local); err != nil {
		st.Close()
		return nil, err
	}
	if err := roles.Seed(ctx, a.Store, a.IDs, cfg); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// RedisCachePrefix starts the Redis keys of a.Cache.
const RedisCachePrefix = "lcgo:cfg:"

// mailer sends through the configured SMTP server, or to the log when
// there is none.
func mailer(cfg *config.Config, log *slog.Logger) mail.Mailer {
	e := cfg.Email
	if !cfg.Auth.EmailEnabled {
		return mail.Log{Logger: log}
	}
	host, port := e.Host, e.Port
	if host == "" {
		if h, p, ok := mail.ServiceAddress(e.Service); ok {
			host, port = h, p
		}
	}
	if host == "" {
		log.Warn("EMAIL_SERVICE is not one this server knows; set EMAIL_HOST and EMAIL_PORT. Mail goes to the log.", "service", e.Service)
		return mail.Log{Logger: log}
	}
	if port == 0 {
		port = 25
	}
	return mail.SMTP{Host: host, Port: port, Username: e.Username, Password: e.Password,
		From: e.From, FromName: e.FromName, AllowSelfSigned: e.AllowSelfSigned}
}

// fillSecrets generates the secrets the operator left unset, once, and keeps
// them in the store so that restarts do not log everybody out. Outside the
// local runner an unset secret is an error.
func fillSecrets(ctx context.Context, a *app.App, local bool) error {
	secrets := []struct {
		name string
		dst  *string
		key  string
	}{
		{"JWT_SECRET", &a.Config.Auth.JWTSecret, "secret:jwt"},
		{"JWT_REFRESH_SECRET", &a.Config.Auth.JWTRefreshSecret, "secret:jwt_refresh"},
		{"CREDS_KEY", &a.Config.CredsKey, "secret:creds_key"},
	}
	for _, s := range secrets {
		if *s.dst != "" {
			continue
		}
		if !local {
			return fmt.Errorf("%s must be set", s.name)
		}
		v, err := randomHex(32)
		if err != nil {
			return err
		}
		got, err := a.Store.PutSettingIfAbsent(ctx, s.key, []byte(v))
		if err != nil {
			return fmt.Errorf("keep generated %s: %w", s.name, err)
		}
		*s.dst = string(got)
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

var _ librechat.Store = (*sqlite.Store)(nil)
