import { type ErrorCode, IcebergError, isIcebergError, type Logger } from '@iceberg/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** The body of every error response: one shape, a stable code, a message a person can read. */
export interface ErrorBody {
  error: { code: ErrorCode | string; message: string; details?: unknown };
}

function body(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** `where.path: message` pairs for each problem of a request that failed its schema. */
function validationIssues(err: FastifyError): Array<{ path: string; message: string }> {
  const context = err.validationContext ?? 'body';
  return (err.validation ?? []).map((v) => {
    const params = v.params as { issue?: { path?: Array<string | number> } } | undefined;
    const path =
      params?.issue?.path ??
      String(v.instancePath ?? '')
        .split('/')
        .filter(Boolean);
    return { path: [context, ...path].join('.'), message: v.message ?? 'invalid' };
  });
}

/**
 * One place that turns errors into responses: IcebergErrors keep their code and status; request
 * problems Fastify detects (schema, JSON, size, media type, rate) are 4xx with a clear message;
 * anything else is a 500 whose details stay in the log, never in the response.
 */
export function createErrorHandler(logger: Logger) {
  return (err: FastifyError | IcebergError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (isIcebergError(err)) {
      if (err.status >= 500) logger.error({ err, url: request.url }, 'request failed');
      return reply.code(err.status).send(body(err.code, err.message, err.details));
    }
    const fe = err as FastifyError;
    if (hasZodFastifySchemaValidationErrors(fe) || fe.validation) {
      const issues = validationIssues(fe);
      const first = issues[0];
      return reply
        .code(400)
        .send(
          body(
            'ICEBERG_ERR_INPUT_INVALID',
            first ? `${first.path}: ${first.message}` : 'the request is not valid',
            { issues },
          ),
        );
    }
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const messages: Record<string, string> = {
        FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is too large',
        FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content type: send application/json',
        FST_ERR_CTP_EMPTY_JSON_BODY: 'the request body is empty but says it is JSON',
        FST_ERR_CTP_INVALID_JSON_BODY: 'the request body is not valid JSON',
      };
      const code =
        status === 429
          ? 'ICEBERG_ERR_RATE_LIMITED'
          : status === 404
            ? 'ICEBERG_ERR_NOT_FOUND'
            : 'ICEBERG_ERR_INPUT_INVALID';
      return reply.code(status).send(body(code, messages[fe.code] ?? fe.message));
    }
    logger.error({ err, url: request.url, method: request.method }, 'unexpected error');
    const internal = new IcebergError(
      'ICEBERG_ERR_INTERNAL',
      'something went wrong on the server; it has been logged',
    );
    return reply.code(500).send(body(internal.code, internal.message));
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(404)
    .send(body('ICEBERG_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
