// Package config loads what an operator configures: environment variables
// with LibreChat's names (a .env file is read if present) and librechat.yaml.
package config

import "time"

// Config is the whole loaded configuration. It is built once at start and
// never changed afterwards.
type Config struct {
	Host      string // HOST, default 127.0.0.1
	Port      int    // PORT, default 3080
	DataDir   string // DATA_DIR, default ./data (local runner)
	ClientDir string // CLIENT_DIR: a built LibreChat client served on the same origin
	Cloud     bool   // true on Lambda/Cloud Functions/Workers: secrets must be given

	DomainClient string // DOMAIN_CLIENT
	DomainServer string // DOMAIN_SERVER, shown as serverDomain
	AppTitle     string // APP_TITLE, default "LibreChat"

	HelpAndFAQURL    string // HELP_AND_FAQ_URL, default https://librechat.ai
	ShowBirthdayIcon bool   // SHOW_BIRTHDAY_ICON

	Auth  Auth
	Email Email
	// S3 is the object store for uploads when fileStrategy is "s3":
	// AWS_BUCKET_NAME, AWS_REGION, AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL (R2 and
	// other S3-compatible stores), AWS_FORCE_PATH_STYLE.
	S3 S3
	// ModelsConfigPath is the model configuration file (MODELS_CONFIG_PATH,
	// or ./models.yaml when it exists).
	ModelsConfigPath string
	// Store is the storage backend (STORE): "sqlite" (default, under
	// DataDir) or "dynamodb".
	Store string
	// DynamoDB locates the table when Store is "dynamodb":
	// DYNAMODB_TABLE_PREFIX, DYNAMODB_ENDPOINT (emulators, VPC endpoints),
	// AWS_REGION, DYNAMODB_NO_TRANSACTIONS (servers without
	// TransactWriteItems).
	DynamoDB DynamoDB
	// SecretsARN names a Secrets Manager secret (SECRETS_ARN) whose JSON
	// object of environment variables (JWT_SECRET, JWT_REFRESH_SECRET,
	// CREDS_KEY, provider keys…) is read once at cold start.
	SecretsARN string
	RedisURI   string // REDIS_URI: stream jobs (and later caches) shared across processes
	// LIMIT_CONCURRENT_MESSAGES (default true) and CONCURRENT_MESSAGE_MAX
	// (default 2): running chat generations per user.
	ConcurrentMessages   bool
	ConcurrentMessageMax int
	// STREAM_HEARTBEAT (default 5 s) and STREAM_STALE_AFTER (default 30 s),
	// in milliseconds: how often a generating process marks its job alive,
	// and how long a running job may go unmarked before any process ends
	// it as interrupted (its process was killed or timed out).
	StreamHeartbeat, StreamStaleAfter time.Duration
	CredsKey                          string // CREDS_KEY: 64 hex characters, the AES-256 key for user-provided API keys
	Providers                         Providers

	// File is the parsed librechat.yaml (zero value when there is none).
	File File
	// FilePath is where File was read from ("" when none).
	FilePath string
}

// Auth is everything the auth area needs.
type Auth struct {
	JWTSecret        string        // JWT_SECRET
	JWTRefreshSecret string        // JWT_REFRESH_SECRET
	SessionExpiry    time.Duration // SESSION_EXPIRY (ms), default 15m
	RefreshExpiry    time.Duration // REFRESH_TOKEN_EXPIRY (ms), default 7 days
	RefreshGrace     time.Duration // REFRESH_GRACE_SECONDS, default 10s

	AllowRegistration         bool // ALLOW_REGISTRATION, default true
	AllowEmailLogin           bool // ALLOW_EMAIL_LOGIN, default true
	AllowSocialLogin          bool // ALLOW_SOCIAL_LOGIN, default false
	AllowPasswordReset        bool // ALLOW_PASSWORD_RESET, default false
	AllowUnverifiedEmailLogin bool // ALLOW_UNVERIFIED_EMAIL_LOGIN, default true
	AllowAccountDeletion      bool // ALLOW_ACCOUNT_DELETION, default true
	EmailEnabled              bool // EMAIL_SERVICE or EMAIL_HOST set with EMAIL_FROM

	MinPasswordLength int // MIN_PASSWORD_LENGTH, default 8
	// MinPasswordLengthSet tells whether MIN_PASSWORD_LENGTH was given; only
	// then is it shown in /api/config.
	MinPasswordLengthSet bool

	LoginMax       int           // LOGIN_MAX, default 7
	LoginWindow    time.Duration // LOGIN_WINDOW (minutes), default 5
	RegisterMax    int           // REGISTER_MAX, default 5
	RegisterWindow time.Duration // REGISTER_WINDOW (minutes), default 60

	// CookieSecure overrides the Secure attribute of auth cookies
	// (SESSION_COOKIE_SECURE); nil means "when the request came over https".
	CookieSecure *bool
}

// Email is the outgoing mail configuration (EmailEnabled in Auth says
// whether it is complete enough to send).
type Email struct {
	Service  string // EMAIL_SERVICE (e.g. "gmail")
	Host     string // EMAIL_HOST
	Port     int    // EMAIL_PORT, default 25
	Username string // EMAIL_USERNAME
	Password string // EMAIL_PASSWORD
	From     string // EMAIL_FROM
	FromName string // EMAIL_FROM_NAME, default APP_TITLE
	// AllowSelfSigned is EMAIL_ALLOW_SELFSIGNED.
	AllowSelfSigned bool
}

// Providers holds the provider keys and model lists from the environment.
// A key of "user_provided" means each user supplies their own.
type Providers struct {
	OpenAIKey      string   // OPENAI_API_KEY
	OpenAIModels   []string // OPENAI_MODELS
	OpenAIBaseURL  string   // OPENAI_REVERSE_PROXY
	AnthropicKey   string   // ANTHROPIC_API_KEY
	AnthropicModel []string // ANTHROPIC_MODELS
	GoogleKey      string   // GOOGLE_KEY
	GoogleModels   []string // GOOGLE_MODELS
	BedrockRegion  string   // BEDROCK_AWS_DEFAULT_REGION
	BedrockKeyID   string   // BEDROCK_AWS_ACCESS_KEY_ID
	BedrockSecret  string   // BEDROCK_AWS_SECRET_ACCESS_KEY
	BedrockModels  []string // BEDROCK_AWS_MODELS
	// BEDROCK_AWS_SESSION_TOKEN, BEDROCK_ENDPOINT_URL (a VPC or test endpoint)
	BedrockSessionToken, BedrockEndpoint string
	AnthropicBaseURL                     string   // ANTHROPIC_REVERSE_PROXY
	GoogleBaseURL                        string   // GOOGLE_REVERSE_PROXY
	Endpoints                            []string // ENDPOINTS: the enabled endpoints, in order (empty: all configured)
}

// DynamoDB locates the DynamoDB table.
type DynamoDB struct {
	TablePrefix, Endpoint, Region string
	NoTransactions                bool
}

// S3 locates an S3 or S3-compatible bucket.
type S3 struct {
	Bucket, Region, AccessKeyID, SecretAccessKey, SessionToken, Endpoint string
	ForcePathStyle                                                       bool
}

// UserProvided is the key value that asks each user for their own key.
const UserProvided = "user_provided"
