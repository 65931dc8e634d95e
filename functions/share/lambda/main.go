// Command lambda is the shared links area as an AWS Lambda function
// (provided.al2023, API Gateway HTTP API events).
package main

import (
	"github.com/lcgo/lcgo/functions/share"
	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func main() { lambda.Main(share.Area, share.New) }
