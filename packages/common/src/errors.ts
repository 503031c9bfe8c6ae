/**
 * Iceberg errors carry a stable code that a user or a script can act on, and the HTTP status
 * that an API returns for them. One handler (in the server) turns them into responses; the CLI
 * prints `code: message` and exits non-zero.
 */
export const errorCodes = {
  ICEBERG_ERR_CONFIG_INVALID: 400,
  ICEBERG_ERR_CONFIG_NOT_FOUND: 400,
  ICEBERG_ERR_INPUT_INVALID: 400,
  ICEBERG_ERR_MESSAGE_INVALID: 400,
  ICEBERG_ERR_UNAUTHENTICATED: 401,
  ICEBERG_ERR_FORBIDDEN: 403,
  ICEBERG_ERR_NOT_FOUND: 404,
  ICEBERG_ERR_CONFLICT: 409,
  ICEBERG_ERR_PAYLOAD_TOO_LARGE: 413,
  ICEBERG_ERR_RATE_LIMITED: 429,
  ICEBERG_ERR_DB_UNAVAILABLE: 503,
  ICEBERG_ERR_CAMERA_UNREACHABLE: 502,
  /** A device's media endpoint (recordings in distributed mode) cannot be reached or refused the server. */
  ICEBERG_ERR_DEVICE_UNREACHABLE: 502,
  ICEBERG_ERR_CAMERA_AUTH: 502,
  ICEBERG_ERR_CAMERA_INPUT: 422,
  ICEBERG_ERR_MODEL_MISSING: 500,
  ICEBERG_ERR_MODEL_INVALID: 500,
  ICEBERG_ERR_FFMPEG_MISSING: 500,
  ICEBERG_ERR_BUS_UNAVAILABLE: 503,
  ICEBERG_ERR_BUS_CLOSED: 503,
  ICEBERG_ERR_RESTREAM_UNAVAILABLE: 503,
  /** GStreamer's RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0) cannot be started. */
  ICEBERG_ERR_RTSP_SERVER_MISSING: 500,
  /** A port this process must listen on is taken. */
  ICEBERG_ERR_ADDRESS_IN_USE: 500,
  ICEBERG_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class IcebergError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IcebergError';
    this.code = code;
    this.status = errorCodes[code];
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isIcebergError(err: unknown): err is IcebergError {
  return err instanceof IcebergError;
}

/** The message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
