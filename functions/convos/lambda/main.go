// Command lambda is the conversations area as an AWS Lambda function
// (provided.al2023, API Gateway HTTP API events).
package main

import (
	"github.com/lcgo/lcgo/functions/convos"
	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func main() { lambda.Main(convos.Area, convos.New) }
