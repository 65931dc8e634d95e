// Command lambda is the presets area as an AWS Lambda function
// (provided.al2023, API Gateway HTTP API events).
package main

import (
	"github.com/lcgo/lcgo/functions/presets"
	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func main() { lambda.Main(presets.Area, presets.New) }
