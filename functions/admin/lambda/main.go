// Command lambda is the admin area as an AWS Lambda function
// (provided.al2023, API Gateway HTTP API events).
package main

import (
	"github.com/lcgo/lcgo/functions/admin"
	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func main() { lambda.Main(admin.Area, admin.New) }
