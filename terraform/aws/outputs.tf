output "api_url" {
  description = "Base URL of the HTTP API: send /api/* and /health of the client's origin here."
  value       = aws_apigatewayv2_api.http.api_endpoint
}

output "chat_stream_url" {
  description = "Streaming Function URL of the chat function: send GET /api/agents/chat/stream/* of the client's origin here (the HTTP API buffers responses)."
  value       = aws_lambda_function_url.stream.function_url
}

output "table_name" {
  description = "DynamoDB table of the store."
  value       = aws_dynamodb_table.main.name
}

output "bucket_name" {
  description = "S3 bucket of uploaded files."
  value       = aws_s3_bucket.files.bucket
}

output "secret_arn" {
  description = "Secrets Manager secret the functions read at cold start (SECRETS_ARN)."
  value       = local.secret_arn
}

output "function_names" {
  description = "Lambda function of each area."
  value       = { for area, fn in aws_lambda_function.area : area => fn.function_name }
}
