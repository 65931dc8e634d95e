// Package awsutil holds what the AWS-backed adapters share: the
// classification of SDK errors into the project's error kinds, and
// credentials and region taken from the environment without the SDK's
// config module.
package awsutil

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Error codes that mean "retry later".
var retryLater = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ProvisionedThroughputExceeded":          true,
	"ThrottlingException":                    true,
	"ThrottlingError":                        true,
	"Throttling":                             true,
	"RequestLimitExceeded":                   true,
	"TransactionConflictException":           true,
	"TransactionConflict":                    true,
	"TransactionInProgressException":         true,
	"InternalServerError":                    true,
	"InternalFailure":                        true,
	"InternalServiceError":                   true,
	"ServiceUnavailable":                     true,
}

// Kind classifies an error of the AWS SDK: throttling, service faults,
// contention, unreachable endpoints and deadlines are KindUnavailable, a
// failed condition KindConflict, an item over DynamoDB's size limit
// KindTooLarge, a *librechat.Error its own kind, anything else KindOther.
func Kind(err error) librechat.Kind {
	if err == nil {
		return librechat.KindOther
	}
	var le *librechat.Error
	if errors.As(err, &le) {
		return le.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return librechat.KindUnavailable
	}
	if IsConditionFailed(err) {
		return librechat.KindConflict
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			code := aws.ToString(r.Code)
			if code == "ConditionalCheckFailed" {
				return librechat.KindConflict
			}
			if retryLater[code] || retryLater[code+"Exception"] {
				return librechat.KindUnavailable
			}
		}
		return librechat.KindOther
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case retryLater[code]:
			return librechat.KindUnavailable
		case code == "ValidationException" && strings.Contains(strings.ToLower(api.ErrorMessage()), "size"):
			return librechat.KindTooLarge
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return librechat.KindUnavailable
	}
	if api != nil {
		return librechat.KindOther
	}
	var send *smithyhttp.RequestSendError
	var nerr net.Error
	if errors.As(err, &send) || errors.As(err, &nerr) {
		return librechat.KindUnavailable
	}
	return librechat.KindOther
}

var messages = map[librechat.Kind]string{
	librechat.KindUnavailable: "the database is busy or unreachable; retry shortly",
	librechat.KindConflict:    "the item changed or already exists",
	librechat.KindTooLarge:    "the item is larger than the database allows",
}

// Wrap returns err as a *librechat.Error of Kind(err) for op. A
// *librechat.Error and the context's own errors (context.Canceled,
// context.DeadlineExceeded returned as such) pass through unchanged.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var le *librechat.Error
	if errors.As(err, &le) {
		return err
	}
	if err == context.Canceled || err == context.DeadlineExceeded {
		return err
	}
	kind := Kind(err)
	e := librechat.Wrap(kind, op, err)
	e.Message = messages[kind]
	return e
}

// IsConditionFailed reports a failed ConditionExpression of a single-item
// write.
func IsConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ConditionalCheckFailedException"
}

// TxConditionFailed reports whether err is a cancelled TransactWriteItems
// in which the condition of the item at index i failed.
func TxConditionFailed(err error, i int) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	if i < len(tce.CancellationReasons) {
		return aws.ToString(tce.CancellationReasons[i].Code) == "ConditionalCheckFailed"
	}
	// Servers that give no per-item reasons name the failure in the message.
	return len(tce.CancellationReasons) == 0 && strings.Contains(tce.ErrorMessage(), "ConditionalCheckFailed")
}

// Env is what an AWS client needs from the environment. On Lambda the
// runtime sets AWS_REGION and the function role's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
type Env struct {
	Region, AccessKeyID, SecretAccessKey, SessionToken string
}

// FromEnv reads AWS_REGION (or AWS_DEFAULT_REGION) and the three
// credential variables through getenv.
func FromEnv(getenv func(string) (string, bool)) Env {
	get := func(name string) string {
		v, _ := getenv(name)
		return strings.TrimSpace(v)
	}
	e := Env{
		Region:          get("AWS_REGION"),
		AccessKeyID:     get("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: get("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    get("AWS_SESSION_TOKEN"),
	}
	if e.Region == "" {
		e.Region = get("AWS_DEFAULT_REGION")
	}
	return e
}

// Credentials returns static credentials from the key pair. Without one it
// returns fixed placeholder credentials when local is true (emulators
// accept any signature) and an error naming the variables otherwise.
func (e Env) Credentials(local bool) (aws.CredentialsProvider, error) {
	if e.AccessKeyID != "" && e.SecretAccessKey != "" {
		return credentials.NewStaticCredentialsProvider(e.AccessKeyID, e.SecretAccessKey, e.SessionToken), nil
	}
	if local {
		return credentials.NewStaticCredentialsProvider("local", "local", ""), nil
	}
	return nil, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them from the function's role)")
}
