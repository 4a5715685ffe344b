/**
 * S3's error answers: an HTTP status and an XML body
 * `<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`, whose Code the
 * AWS SDKs turn into the exception they throw.
 */

const STATUS = {
  AccessDenied: 403,
  SignatureDoesNotMatch: 403,
  InvalidAccessKeyId: 403,
  InvalidToken: 400,
  ExpiredToken: 400,
  RequestTimeTooSkewed: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  MissingSecurityHeader: 400,
  InvalidRequest: 400,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  EntityTooSmall: 400,
  EntityTooLarge: 400,
  IncompleteBody: 400,
  MissingContentLength: 411,
  XAmzContentSHA256Mismatch: 400,
  BadDigest: 400,
  InvalidDigest: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  OperationAborted: 409,
  NotImplemented: 501,
  InternalError: 500,
} as const;

export type S3ErrorCode = keyof typeof STATUS;

export class S3Error extends Error {
  override readonly name = 'S3Error';
  readonly status: number;
  constructor(
    readonly code: S3ErrorCode,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function errorXml(error: S3Error, requestId: string, resource?: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    `<Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message>` +
    (resource === undefined ? '' : `<Resource>${escapeXml(resource)}</Resource>`) +
    `<RequestId>${escapeXml(requestId)}</RequestId></Error>`
  );
}
