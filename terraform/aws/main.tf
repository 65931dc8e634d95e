data "aws_region" "current" {}

locals {
  # The routing table of shared/routes (routes.Table): every path equal to
  # a prefix or below it goes to the area's function. The longest prefix
  # wins, as in API Gateway. terraform_test.go keeps this copy in step.
  routes = {
    "/api/auth"          = "auth"
    "/api/user"          = "auth"
    "/health"            = "config"
    "/api/config"        = "config"
    "/api/endpoints"     = "config"
    "/api/models"        = "config"
    "/api/banner"        = "config"
    "/api/roles"         = "config"
    "/api/balance"       = "config"
    "/api/keys"          = "config"
    "/api/agents/chat"   = "chat"
    "/api/convos"        = "convos"
    "/api/tags"          = "convos"
    "/api/messages"      = "messages"
    "/api/presets"       = "presets"
    "/api/share"         = "share"
    "/api/admin"         = "admin"
    "/api/files"         = "files"
    "/api/user/settings" = "config"
    "/api/user/terms"    = "config"
    "/api/agents"        = "config"
    "/api/assistants"    = "config"
    "/api/search"        = "config"
    "/api/prompts"       = "config"
    "/api/categories"    = "config"
    "/api/mcp"           = "config"
    "/api/memories"      = "config"
    "/api/plugins"       = "config"
    "/api/skills"        = "config"
    "/api/permissions"   = "config"
  }

  # Two routes per prefix: the prefix itself and everything below it.
  route_keys = merge([
    for prefix, area in local.routes : {
      "ANY ${prefix}"          = area
      "ANY ${prefix}/{proxy+}" = area
    }
  ]...)

  # One function per area. dynamodb lists the table actions the area's
  # code can make: through the DynamoDB store (infra/dynamodb.md), and for
  # the stream jobs and rate limits kept in the table when there is no
  # Redis. dynamodb_indexes says whether it queries the indexes (the
  # paginated lists). terraform_test.go derives both from the Go source.
  # s3 lists the object actions on the uploads bucket: the files area owns
  # uploads, chat reads attached files for the model.
  areas = {
    auth = {
      description      = "Auth area (/api/auth, /api/user)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = false
      s3               = []
      environment      = {}
    }
    config = {
      description      = "Config area (/api/config, /api/endpoints, /health and features that are off)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = true
      s3               = []
      environment      = {}
    }
    chat = {
      description      = "Chat area (/api/agents/chat); streams replies through its Function URL"
      timeout          = var.chat_timeout
      dynamodb         = ["BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = true
      s3               = ["GetObject"]
      environment = {
        LCGO_LAMBDA_MODE = "auto"
      }
    }
    convos = {
      description      = "Conversations area (/api/convos, /api/tags)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = true
      s3               = []
      environment      = {}
    }
    messages = {
      description      = "Messages area (/api/messages)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = true
      s3               = []
      environment      = {}
    }
    presets = {
      description      = "Presets area (/api/presets)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = false
      s3               = []
      environment      = {}
    }
    share = {
      description      = "Shared links area (/api/share; the public view needs no token)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = true
      s3               = []
      environment      = {}
    }
    admin = {
      description      = "Admin API (/api/admin; role ADMIN only)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "BatchWriteItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = true
      s3               = []
      environment      = {}
    }
    files = {
      description      = "Files area (/api/files; uploads, downloads, signed image links)"
      timeout          = var.timeout
      dynamodb         = ["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"]
      dynamodb_indexes = true
      s3               = ["DeleteObject", "GetObject", "PutObject"]
      environment      = {}
    }
  }

  # The function that also answers its Function URL, streamed.
  stream_area = "chat"

  dist_dir = var.dist_dir == null ? "${path.module}/../../dist" : var.dist_dir
  zip_paths = {
    for area in keys(local.areas) : area => lookup(var.zip_paths, area, "${local.dist_dir}/${area}.zip")
  }

  function_names = { for area in keys(local.areas) : area => "${var.name_prefix}-${area}" }

  # The store opens the table <DYNAMODB_TABLE_PREFIX>librechat.
  table_prefix = "${var.name_prefix}-"
  table_name   = "${local.table_prefix}librechat"
  indexes      = ["gsi1", "gsi2", "gsi3"]

  create_secret = var.secret_arn == null
  secret_arn    = local.create_secret ? aws_secretsmanager_secret.app[0].arn : var.secret_arn

  # librechat.yaml reaches every function as a layer (/opt/librechat.yaml).
  # Uploads must go to S3 on Lambda: /tmp is per instance.
  librechat_yaml = var.librechat_yaml == null ? "version: 1.2.1\nfileStrategy: s3\n" : file(var.librechat_yaml)

  environment = merge(
    var.environment,
    {
      STORE                 = "dynamodb"
      DYNAMODB_TABLE_PREFIX = local.table_prefix
      SECRETS_ARN           = local.secret_arn
      DATA_DIR              = "/tmp"
      CONFIG_PATH           = "/opt/librechat.yaml"
      APP_TITLE             = var.app_title
      ALLOW_REGISTRATION    = tostring(var.allow_registration)
    },
    var.redis_uri == "" ? {} : { REDIS_URI = var.redis_uri },
    var.public_url == "" ? {} : { DOMAIN_CLIENT = var.public_url, DOMAIN_SERVER = var.public_url },
  )
}

# DynamoDB: one table, three indexes, TTL (infra/dynamodb.md).

resource "aws_dynamodb_table" "main" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  attribute {
    name = "gpk"
    type = "S"
  }

  attribute {
    name = "gs1"
    type = "S"
  }

  attribute {
    name = "gs2"
    type = "S"
  }

  attribute {
    name = "gs3"
    type = "S"
  }

  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gpk"
    range_key       = "gs1"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "gsi2"
    hash_key        = "gpk"
    range_key       = "gs2"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "gsi3"
    hash_key        = "gpk"
    range_key       = "gs3"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled = true
  }

  tags = var.tags
}

# S3: uploaded files. Private, encrypted, TLS only.

resource "aws_s3_bucket" "files" {
  bucket_prefix = "${var.name_prefix}-files-"
  force_destroy = var.force_destroy_bucket
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "files" {
  bucket                  = aws_s3_bucket.files.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "files" {
  bucket = aws_s3_bucket.files.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "files" {
  bucket = aws_s3_bucket.files.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_policy" "files" {
  bucket = aws_s3_bucket.files.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["s3:*"]
        Resource  = [aws_s3_bucket.files.arn, "${aws_s3_bucket.files.arn}/*"]
        Condition = {
          Bool = { "aws:SecureTransport" = "false" }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.files]
}

# Downloads with ?direct=true redirect to a presigned S3 URL, which the
# browser fetches from the client's origin: the signature grants access,
# CORS only lets the page read the answer.
resource "aws_s3_bucket_cors_configuration" "files" {
  count  = length(var.cors_allowed_origins) > 0 ? 1 : 0
  bucket = aws_s3_bucket.files.id

  cors_rule {
    allowed_methods = ["GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["*"]
    expose_headers  = ["Content-Disposition", "Content-Length", "Content-Type", "ETag"]
    max_age_seconds = 3600
  }
}

# Secrets Manager: one JSON object of environment variables (JWT_SECRET,
# JWT_REFRESH_SECRET, CREDS_KEY, provider keys…), read at cold start
# through SECRETS_ARN. Created here unless secret_arn names one.

resource "random_password" "jwt_secret" {
  count   = local.create_secret ? 1 : 0
  length  = 64
  special = false
}

resource "random_password" "jwt_refresh_secret" {
  count   = local.create_secret ? 1 : 0
  length  = 64
  special = false
}

resource "random_id" "creds_key" {
  count       = local.create_secret ? 1 : 0
  byte_length = 32
}

resource "aws_secretsmanager_secret" "app" {
  count                   = local.create_secret ? 1 : 0
  name_prefix             = "${var.name_prefix}-"
  description             = "LibreChat secrets (JSON object of environment variables)"
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  count     = local.create_secret ? 1 : 0
  secret_id = aws_secretsmanager_secret.app[0].id
  secret_string = jsonencode(merge(var.secret_values, {
    JWT_SECRET         = random_password.jwt_secret[0].result
    JWT_REFRESH_SECRET = random_password.jwt_refresh_secret[0].result
    CREDS_KEY          = random_id.creds_key[0].hex
  }))
}

# librechat.yaml as a layer: Lambda unpacks it under /opt.

data "archive_file" "config" {
  type        = "zip"
  output_path = "${path.module}/.build/librechat-config.zip"

  source {
    content  = local.librechat_yaml
    filename = "librechat.yaml"
  }
}

resource "aws_lambda_layer_version" "config" {
  layer_name               = "${var.name_prefix}-config"
  description              = "librechat.yaml"
  filename                 = data.archive_file.config.output_path
  source_code_hash         = data.archive_file.config.output_base64sha256
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = ["arm64"]

  lifecycle {
    precondition {
      condition     = can(regex("(?m)^fileStrategy:[ \\t]*[\"']?s3[\"']?[ \\t]*(#.*)?$", local.librechat_yaml))
      error_message = "librechat.yaml must set fileStrategy: s3 (Lambda's /tmp belongs to one instance)."
    }
  }
}

# One function per area.

resource "aws_cloudwatch_log_group" "area" {
  for_each          = local.areas
  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "area" {
  for_each = local.areas
  name     = "${var.name_prefix}-${each.key}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "area" {
  for_each = local.areas
  name     = "access"
  role     = aws_iam_role.area[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "Logs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.area[each.key].arn}:*"]
        },
        {
          Sid      = "Secret"
          Effect   = "Allow"
          Action   = ["secretsmanager:GetSecretValue"]
          Resource = [local.secret_arn]
        },
        {
          Sid      = "Table"
          Effect   = "Allow"
          Action   = [for a in each.value.dynamodb : "dynamodb:${a}"]
          Resource = [aws_dynamodb_table.main.arn]
        },
      ],
      each.value.dynamodb_indexes ? [
        {
          Sid      = "Indexes"
          Effect   = "Allow"
          Action   = ["dynamodb:Query"]
          Resource = [for i in local.indexes : "${aws_dynamodb_table.main.arn}/index/${i}"]
        },
      ] : [],
      length(each.value.s3) > 0 ? [
        {
          Sid      = "Objects"
          Effect   = "Allow"
          Action   = [for a in each.value.s3 : "s3:${a}"]
          Resource = ["${aws_s3_bucket.files.arn}/*"]
        },
        {
          Sid      = "Bucket"
          Effect   = "Allow"
          Action   = ["s3:ListBucket"]
          Resource = [aws_s3_bucket.files.arn]
        },
      ] : [],
      var.secret_kms_key_arn == null ? [] : [
        {
          Sid      = "SecretKey"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = [var.secret_kms_key_arn]
          Condition = {
            StringEquals = { "kms:ViaService" = "secretsmanager.${data.aws_region.current.region}.amazonaws.com" }
          }
        },
      ],
    )
  })
}

resource "aws_lambda_function" "area" {
  for_each         = local.areas
  function_name    = local.function_names[each.key]
  description      = each.value.description
  role             = aws_iam_role.area[each.key].arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = local.zip_paths[each.key]
  source_code_hash = filebase64sha256(local.zip_paths[each.key])
  memory_size      = var.memory_size
  timeout          = each.value.timeout
  layers           = [aws_lambda_layer_version.config.arn]

  environment {
    variables = merge(
      local.environment,
      each.value.environment,
      length(each.value.s3) > 0 ? { AWS_BUCKET_NAME = aws_s3_bucket.files.bucket } : {},
    )
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.area, aws_iam_role_policy.area]
}

# The chat reply streams through a Function URL: API Gateway HTTP APIs
# buffer responses.

resource "aws_lambda_function_url" "stream" {
  function_name      = aws_lambda_function.area[local.stream_area].function_name
  authorization_type = "NONE"
  invoke_mode        = "RESPONSE_STREAM"
}

resource "aws_lambda_permission" "stream_url" {
  statement_id           = "FunctionUrlPublicAccess"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.area[local.stream_area].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "stream_invoke" {
  statement_id             = "FunctionUrlInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.area[local.stream_area].function_name
  principal                = "*"
  invoked_via_function_url = true
}

# API Gateway HTTP API: two routes per prefix of the routing table.

resource "aws_apigatewayv2_api" "http" {
  name          = var.name_prefix
  description   = "LibreChat-compatible API"
  protocol_type = "HTTP"
  tags          = var.tags
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/aws/apigateway/${var.name_prefix}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      routeKey       = "$context.routeKey"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latency        = "$context.integrationLatency"
      error          = "$context.integrationErrorMessage"
    })
  }

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "area" {
  for_each               = local.areas
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.area[each.key].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "area" {
  for_each  = local.route_keys
  api_id    = aws_apigatewayv2_api.http.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.area[each.value].id}"
}

resource "aws_lambda_permission" "api" {
  for_each      = local.areas
  statement_id  = "HttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.area[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}
