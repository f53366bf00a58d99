"""Where state lives: the DynamoDB ledger (documents, deliveries, tenants), S3 payloads, SQS, secrets."""
