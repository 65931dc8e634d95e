// Command lambda is the files area as an AWS Lambda function
// (provided.al2023, API Gateway HTTP API events).
package main

import (
	"github.com/lcgo/lcgo/functions/files"
	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func main() { lambda.Main(files.Area, files.New) }
