package dynamo

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lcgo/lcgo/shared/librechat"
)

// errCondition is what the write helpers return when DynamoDB rejected a
// write's condition; callers turn it into the kind the interface asks for.
var errCondition = errors.New("dynamo: condition not met")

// canceledError is a transaction cancelled because the conditions of the
// items at these indexes failed.
type canceledError struct {
	failed []int
}

func (e *canceledError) Error() string { return "dynamo: transaction condition not met" }

// failedAt reports whether the condition of item i failed.
func (e *canceledError) failedAt(i int) bool {
	for _, f := range e.failed {
		if f == i {
			return true
		}
	}
	return false
}

func withOp(e *librechat.Error, op string) *librechat.Error {
	e.Op = op
	return e
}

func notFound(op, msg string) error {
	return withOp(librechat.E(librechat.KindNotFound, "%s", msg), op)
}

func conflict(op, msg string) error {
	return withOp(librechat.E(librechat.KindConflict, "%s", msg), op)
}

func invalid(op, msg string) error {
	return withOp(librechat.E(librechat.KindInvalid, "%s", msg), op)
}

func busy(op string) error {
	return withOp(librechat.E(librechat.KindUnavailable, "the database is busy; retry shortly"), op)
}

// fail classifies an error of the SDK (or passes a *librechat.Error
// through): throttling, service-side faults, contention and unreachable
// endpoints are KindUnavailable, failed conditions KindConflict, an item
// over the size limit KindTooLarge, anything else KindOther.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	var le *librechat.Error
	if errors.As(err, &le) {
		return err
	}
	kind, msg := classify(err)
	e := librechat.Wrap(kind, op, err)
	e.Message = msg
	return e
}

// Error codes that mean "retry later".
var unavailableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"TransactionConflictException":           true,
	"TransactionInProgressException":         true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"ThrottlingError":                        true,
	"ProvisionedThroughputExceeded":          true,
	"TransactionConflict":                    true,
}

func classify(err error) (librechat.Kind, string) {
	const unavailable = "the database is busy or unreachable; retry shortly"
	if errors.Is(err, errCondition) {
		return librechat.KindConflict, "the item changed or already exists"
	}
	var ce *canceledError
	if errors.As(err, &ce) {
		return librechat.KindConflict, "the item changed or already exists"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return librechat.KindUnavailable, unavailable
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			code := aws.ToString(r.Code)
			if code == "ConditionalCheckFailed" {
				return librechat.KindConflict, "the item changed or already exists"
			}
			if unavailableCodes[code] {
				return librechat.KindUnavailable, unavailable
			}
		}
		return librechat.KindOther, ""
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case unavailableCodes[code]:
			return librechat.KindUnavailable, unavailable
		case code == "ConditionalCheckFailedException":
			return librechat.KindConflict, "the item changed or already exists"
		case code == "ValidationException" && strings.Contains(strings.ToLower(api.ErrorMessage()), "size"):
			return librechat.KindTooLarge, "the item is larger than the database allows"
		}
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
			return librechat.KindUnavailable, unavailable
		}
		return librechat.KindOther, ""
	}
	var send *smithyhttp.RequestSendError
	var nerr net.Error
	if errors.As(err, &send) || errors.As(err, &nerr) {
		return librechat.KindUnavailable, unavailable
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return librechat.KindUnavailable, unavailable
	}
	return librechat.KindOther, ""
}

// isCondition reports a failed condition of a single-item write.
func isCondition(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ConditionalCheckFailedException"
}
