// Command lambda is the messages area as an AWS Lambda function
// (provided.al2023, API Gateway HTTP API events).
package main

import (
	"net/http"

	"github.com/lcgo/lcgo/functions/messages"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func main() {
	lambda.Main(messages.Area, func(a *app.App) (http.Handler, error) {
		return messages.New(a, messages.WithActiveJobs(messages.AppJobs(a)))
	})
}
