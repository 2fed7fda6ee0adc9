// Quiet, credential-free defaults for every test process; the stack helpers set endpoints.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
// Quiet by default; suites that assert on log lines raise the level themselves.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
