/**
 * SQS errors as the JSON protocol sends them: `__type` names the modeled shape and, because
 * SQS is "awsQueryCompatible", the `x-amzn-query-error` header carries the legacy query
 * code (`AWS.SimpleQueueService.NonExistentQueue;Sender`). The SDK picks the error class
 * from that header, so both must agree with the service model.
 */
const QUERY_CODES = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  QueueNameExists: 'QueueAlreadyExists',
  ReceiptHandleIsInvalid: 'ReceiptHandleIsInvalid',
  MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId',
  BatchRequestTooLong: 'AWS.SimpleQueueService.BatchRequestTooLong',
  InvalidMessageContents: 'InvalidMessageContents',
  InvalidAttributeName: 'InvalidAttributeName',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation',
  // Not modeled shapes: the SDK surfaces them as SQSServiceException with this name.
  InvalidParameterValue: 'InvalidParameterValue',
  MissingParameter: 'MissingParameter',
  UnknownOperationException: 'UnknownOperationException',
  SerializationException: 'SerializationException',
  InternalError: 'InternalError',
} as const;

export type SqsErrorType = keyof typeof QUERY_CODES;

export class SqsError extends Error {
  constructor(
    readonly type: SqsErrorType,
    message: string,
  ) {
    super(message);
  }

  get queryCode(): string {
    return QUERY_CODES[this.type];
  }

  /** Whether the caller is to blame (batch results report it per entry). */
  get senderFault(): boolean {
    return this.type !== 'InternalError';
  }
}
