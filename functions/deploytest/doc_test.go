// Package deploytest checks what gets deployed rather than what the areas
// do: the SAM template against the routing table and against the code (the
// environment variables each function reads, the AWS API operations it
// calls and the grants its role holds, the DynamoDB table the adapter
// expects, the secrets, buckets, log groups and the CloudFront front), the
// Lambda bootstraps under the AWS Lambda Runtime Interface Emulator, and
// the Cloud Functions entry points under the Functions Framework. The
// end-to-end tests build real binaries with `go build` and talk to them
// over 127.0.0.1.
package deploytest
