package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// DefaultFilePath is where librechat.yaml is looked for when CONFIG_PATH is
// not set (relative to the working directory; used only if it exists).
const DefaultFilePath = "librechat.yaml"

// Load reads the configuration from LibreChat's environment variable names
// through getenv, then librechat.yaml (CONFIG_PATH, or ./librechat.yaml when
// it exists). A malformed value fails with an error naming the variable.
func Load(getenv func(string) (string, bool)) (*Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	e := &envReader{get: getenv}
	c := &Config{
		Host:      e.str("HOST", "127.0.0.1"),
		DataDir:   e.str("DATA_DIR", "./data"),
		ClientDir: e.str("CLIENT_DIR", ""),
		AppTitle:  e.str("APP_TITLE", "LibreChat"),

		HelpAndFAQURL:    e.str("HELP_AND_FAQ_URL", "https://librechat.ai"),
		ShowBirthdayIcon: e.boolean("SHOW_BIRTHDAY_ICON", false),
	}
	c.Port = e.port("PORT", 3080)
	c.DomainServer = e.str("DOMAIN_SERVER", "http://"+net.JoinHostPort(urlHost(c.Host), strconv.Itoa(c.Port)))
	c.DomainClient = e.str("DOMAIN_CLIENT", c.DomainServer)

	a := &c.Auth
	a.JWTSecret = e.str("JWT_SECRET", "")
	a.JWTRefreshSecret = e.str("JWT_REFRESH_SECRET", "")
	a.SessionExpiry = e.millis("SESSION_EXPIRY", 15*time.Minute)
	a.RefreshExpiry = e.millis("REFRESH_TOKEN_EXPIRY", 7*24*time.Hour)
	a.RefreshGrace = time.Duration(e.integer("REFRESH_GRACE_SECONDS", 10, 0)) * time.Second
	a.AllowRegistration = e.boolean("ALLOW_REGISTRATION", true)
	a.AllowEmailLogin = e.boolean("ALLOW_EMAIL_LOGIN", true)
	a.AllowSocialLogin = e.boolean("ALLOW_SOCIAL_LOGIN", false)
	a.AllowPasswordReset = e.boolean("ALLOW_PASSWORD_RESET", false)
	a.AllowUnverifiedEmailLogin = e.boolean("ALLOW_UNVERIFIED_EMAIL_LOGIN", true)
	a.AllowAccountDeletion = e.boolean("ALLOW_ACCOUNT_DELETION", true)
	a.MinPasswordLength = e.integer("MIN_PASSWORD_LENGTH", 8, 1)
	_, a.MinPasswordLengthSet = e.value("MIN_PASSWORD_LENGTH")
	a.LoginMax = e.integer("LOGIN_MAX", 7, 1)
	a.LoginWindow = time.Duration(e.integer("LOGIN_WINDOW", 5, 1)) * time.Minute
	a.RegisterMax = e.integer("REGISTER_MAX", 5, 1)
	a.RegisterWindow = time.Duration(e.integer("REGISTER_WINDOW", 60, 1)) * time.Minute
	if _, ok := e.value("SESSION_COOKIE_SECURE"); ok {
		b := e.boolean("SESSION_COOKIE_SECURE", false)
		a.CookieSecure = &b
	}

	m := &c.Email
	m.Service = e.str("EMAIL_SERVICE", "")
	m.Host = e.str("EMAIL_HOST", "")
	m.Port = e.port("EMAIL_PORT", 25)
	m.Username = e.str("EMAIL_USERNAME", "")
	m.Password = e.str("EMAIL_PASSWORD", "")
	m.From = e.str("EMAIL_FROM", "")
	m.FromName = e.str("EMAIL_FROM_NAME", c.AppTitle)
	m.AllowSelfSigned = e.boolean("EMAIL_ALLOW_SELFSIGNED", false)
	a.EmailEnabled = (m.Service != "" || m.Host != "") && m.From != ""

	c.RedisURI = e.str("REDIS_URI", "")
	c.SecretsARN = e.str("SECRETS_ARN", "")
	c.Store = strings.ToLower(e.str("STORE", "sqlite"))
	if c.Store != "sqlite" && c.Store != "dynamodb" {
		e.fail("STORE", "must be sqlite or dynamodb, not %q", c.Store)
	}
	c.DynamoDB = DynamoDB{
		TablePrefix: e.str("DYNAMODB_TABLE_PREFIX", ""), Endpoint: e.str("DYNAMODB_ENDPOINT", ""),
		Region: e.str("AWS_REGION", ""), NoTransactions: e.boolean("DYNAMODB_NO_TRANSACTIONS", false),
	}
	c.S3 = S3{
		Bucket: e.str("AWS_BUCKET_NAME", ""), Region: e.str("AWS_REGION", ""),
		AccessKeyID: e.str("AWS_ACCESS_KEY_ID", ""), SecretAccessKey: e.str("AWS_SECRET_ACCESS_KEY", ""),
		SessionToken: e.str("AWS_SESSION_TOKEN", ""), Endpoint: e.str("AWS_ENDPOINT_URL", ""),
		ForcePathStyle: e.boolean("AWS_FORCE_PATH_STYLE", false),
	}
	c.ModelsConfigPath = e.str("MODELS_CONFIG_PATH", "")
	if c.ModelsConfigPath == "" {
		if _, err := os.Stat("models.yaml"); err == nil {
			c.ModelsConfigPath = "models.yaml"
		}
	}
	c.ConcurrentMessages = e.boolean("LIMIT_CONCURRENT_MESSAGES", true)
	c.ConcurrentMessageMax = e.integer("CONCURRENT_MESSAGE_MAX", 2, 1)
	c.StreamHeartbeat = e.millis("STREAM_HEARTBEAT", 5*time.Second)
	c.StreamStaleAfter = e.millis("STREAM_STALE_AFTER", 30*time.Second)

	c.CredsKey = e.str("CREDS_KEY", "")
	if c.CredsKey != "" {
		if b, err := hex.DecodeString(c.CredsKey); err != nil || len(b) != 32 {
			e.fail("CREDS_KEY", "must be 64 hexadecimal characters (a 32-byte key)")
		}
	}

	p := &c.Providers
	p.OpenAIKey = e.str("OPENAI_API_KEY", "")
	p.OpenAIModels = e.list("OPENAI_MODELS")
	p.OpenAIBaseURL = e.str("OPENAI_REVERSE_PROXY", "")
	p.AnthropicKey = e.str("ANTHROPIC_API_KEY", "")
	p.AnthropicModel = e.list("ANTHROPIC_MODELS")
	p.GoogleKey = e.str("GOOGLE_KEY", "")
	p.GoogleModels = e.list("GOOGLE_MODELS")
	p.BedrockRegion = e.str("BEDROCK_AWS_DEFAULT_REGION", "")
	p.BedrockKeyID = e.str("BEDROCK_AWS_ACCESS_KEY_ID", "")
	p.BedrockSecret = e.str("BEDROCK_AWS_SECRET_ACCESS_KEY", "")
	p.BedrockModels = e.list("BEDROCK_AWS_MODELS")
	p.BedrockSessionToken = e.str("BEDROCK_AWS_SESSION_TOKEN", "")
	p.BedrockEndpoint = e.str("BEDROCK_ENDPOINT_URL", "")
	p.AnthropicBaseURL = e.str("ANTHROPIC_REVERSE_PROXY", "")
	p.GoogleBaseURL = e.str("GOOGLE_REVERSE_PROXY", "")
	p.Endpoints = e.list("ENDPOINTS")

	if err := errors.Join(e.errs...); err != nil {
		return nil, err
	}

	// FILE_STRATEGY selects where uploads go without a librechat.yaml
	// (serverless deployments); the file's fileStrategy wins when set.
	fileStrategy, _ := e.value("FILE_STRATEGY")
	path, explicit := e.value("CONFIG_PATH")
	if !explicit {
		path = DefaultFilePath
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
	case !explicit && errors.Is(err, fs.ErrNotExist):
		c.File.FileStrategy = fileStrategy
		return c, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("CONFIG_PATH: %s does not exist", path)
	default:
		return nil, fmt.Errorf("CONFIG_PATH: read %s: %w", path, err)
	}
	f, err := ParseFile(path, data, getenv)
	if err != nil {
		return nil, err
	}
	c.File, c.FilePath = *f, path
	if c.File.FileStrategy == "" {
		c.File.FileStrategy = fileStrategy
	}
	return c, nil
}

// LoadDotEnv reads a .env file into the process environment. Variables that
// are already set keep their values; a missing file is not an error.
func LoadDotEnv(path string) error {
	err := godotenv.Load(path)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// urlHost is the host to put in a default URL: the wildcard addresses are
// not reachable as such, so they become localhost.
func urlHost(h string) string {
	switch h {
	case "", "0.0.0.0", "::", "[::]":
		return "localhost"
	}
	return strings.Trim(h, "[]")
}

type envReader struct {
	get  func(string) (string, bool)
	errs []error
}

func (e *envReader) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
}

// value returns the trimmed value of name; an empty value counts as unset.
func (e *envReader) value(name string) (string, bool) {
	v, ok := e.get(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (e *envReader) str(name, def string) string {
	if v, ok := e.value(name); ok {
		return v
	}
	return def
}

func (e *envReader) boolean(name string, def bool) bool {
	v, ok := e.value(name)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	e.fail(name, "%q is not a boolean (use true or false)", v)
	return def
}

func (e *envReader) integer(name string, def, min int) int {
	v, ok := e.value(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(name, "%q is not a whole number", v)
		return def
	}
	if n < min {
		e.fail(name, "%d is less than %d", n, min)
		return def
	}
	return n
}

func (e *envReader) port(name string, def int) int {
	v, ok := e.value(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		e.fail(name, "%q is not a valid port number", v)
		return def
	}
	return n
}

// millis reads a duration in milliseconds. Like LibreChat it accepts an
// arithmetic expression such as 1000 * 60 * 15.
func (e *envReader) millis(name string, def time.Duration) time.Duration {
	v, ok := e.value(name)
	if !ok {
		return def
	}
	ms, err := evalArith(v)
	if err != nil {
		e.fail(name, "%q is not a number of milliseconds: %v", v, err)
		return def
	}
	if ms <= 0 || ms > float64(math.MaxInt64/int64(time.Millisecond)) {
		e.fail(name, "%q is out of range", v)
		return def
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// list splits a comma-separated value, dropping empty items.
func (e *envReader) list(name string) []string {
	v, ok := e.value(name)
	if !ok {
		return nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
