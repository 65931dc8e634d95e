variable "name_prefix" {
  description = "Prefix of every resource name: functions <prefix>-<area>, table <prefix>-librechat, bucket <prefix>-files-…"
  type        = string
  default     = "librechat"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2 to 24 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "dist_dir" {
  description = "Directory holding <area>.zip for every area, as `make lambda` writes them (default: dist/ of the repository)."
  type        = string
  default     = null
}

variable "zip_paths" {
  description = "Zip of an area's bootstrap by area name, overriding dist_dir for that area."
  type        = map(string)
  default     = {}
}

variable "memory_size" {
  description = "Memory of each function in MB (CPU grows with it; password hashing needs some)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds of every function but chat; API Gateway gives up after 30."
  type        = number
  default     = 29

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 30
    error_message = "timeout must be between 1 and 30."
  }
}

variable "chat_timeout" {
  description = "Timeout in seconds of the chat function: a reply is generated inside its stream request."
  type        = number
  default     = 900

  validation {
    condition     = var.chat_timeout >= 30 && var.chat_timeout <= 900
    error_message = "chat_timeout must be between 30 and 900."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the logs of the functions and of the API."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, …, 3653)."
  }
}

variable "secret_arn" {
  description = "ARN of an existing Secrets Manager secret holding a JSON object of environment variables (JWT_SECRET, JWT_REFRESH_SECRET, CREDS_KEY, provider keys). Null: the module creates one with random JWT secrets and CREDS_KEY."
  type        = string
  default     = null

  validation {
    condition     = var.secret_arn == null || can(regex("^arn:[a-z-]+:secretsmanager:", var.secret_arn))
    error_message = "secret_arn must be the full ARN of a Secrets Manager secret."
  }
}

variable "secret_values" {
  description = "Further environment variables kept in the secret the module creates (e.g. OPENAI_API_KEY); ignored with secret_arn."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "secret_kms_key_arn" {
  description = "Customer managed KMS key that encrypts the secret named by secret_arn, if any: the functions may then decrypt through Secrets Manager."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret created by the module can still be restored (0 deletes it at once)."
  type        = number
  default     = 30
}

variable "redis_uri" {
  description = "Redis URL (REDIS_URI, e.g. rediss://user:pass@host:6379/0) for chat generation jobs and rate limits shared by all instances. Empty: none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "app_title" {
  description = "Title shown by the client (APP_TITLE)."
  type        = string
  default     = "LibreChat"
}

variable "allow_registration" {
  description = "Whether new users may register (ALLOW_REGISTRATION)."
  type        = bool
  default     = true
}

variable "public_url" {
  description = "The origin the client is served from, e.g. https://chat.example.com (DOMAIN_CLIENT and DOMAIN_SERVER). Empty: not set."
  type        = string
  default     = ""
}

variable "environment" {
  description = "More environment variables for every function (e.g. OPENAI_MODELS, ENDPOINTS). The module's own variables take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k in keys(var.environment) : !can(regex("^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_LAMBDA_.*|AWS_EXECUTION_ENV|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|_HANDLER|_X_AMZN_TRACE_ID)$", k))
    ])
    error_message = "environment must not set the variables Lambda reserves (AWS_REGION, AWS_ACCESS_KEY_ID, …)."
  }
}

variable "librechat_yaml" {
  description = "Path of a librechat.yaml for every function (it must set fileStrategy: s3). Null: one with only fileStrategy: s3."
  type        = string
  default     = null
}

variable "cors_allowed_origins" {
  description = "Origins whose pages may read presigned downloads from the bucket (the presigned URL, not CORS, grants access). Empty: no CORS rule."
  type        = list(string)
  default     = ["*"]
}

variable "force_destroy_bucket" {
  description = "Whether terraform destroy may delete the bucket with its objects."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Whether the DynamoDB table is protected from deletion (turn off before terraform destroy)."
  type        = bool
  default     = true
}

variable "point_in_time_recovery" {
  description = "Whether the DynamoDB table keeps continuous backups."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
