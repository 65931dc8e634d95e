// Command lambda is the chat area as an AWS Lambda function
// (provided.al2023). With LCGO_LAMBDA_MODE=auto it answers API Gateway HTTP
// API events buffered (start, status, active, abort) and Function URL
// events streamed (the SSE stream). Each generation runs inside the stream
// request that claims it, since Lambda freezes an instance once it has
// answered the start request.
package main

import (
	"net/http"

	"github.com/lcgo/lcgo/functions/chat"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/platform/lambda"
	"github.com/lcgo/lcgo/shared/routes"
)

func main() {
	lambda.Main(routes.Chat, func(a *app.App) (http.Handler, error) {
		return chat.NewWithOptions(a, chat.Options{Deferred: true})
	})
}
