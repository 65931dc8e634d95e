// Command lambda is the auth area as an AWS Lambda function
// (provided.al2023, API Gateway HTTP API events).
package main

import (
	"github.com/lcgo/lcgo/functions/auth"
	"github.com/lcgo/lcgo/shared/platform/lambda"
	"github.com/lcgo/lcgo/shared/routes"
)

func main() { lambda.Main(routes.Auth, auth.New) }
