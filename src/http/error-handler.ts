import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/pool.ts';
import { GraphError } from '../graph-error.ts';
import type { AppDeps } from './app-deps.ts';

/** Graph's innerError date: UTC, no fraction, no offset. */
function innerErrorDate(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, '');
}

export function sendGraphError(reply: FastifyReply, request: FastifyRequest, err: GraphError, now: Date): FastifyReply {
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  const body = {
    error: {
      code: err.code,
      message: err.message,
      innerError: {
        date: innerErrorDate(now),
        'request-id': request.id,
        'client-request-id': String(reply.getHeader('client-request-id') ?? request.id),
      },
    },
  };
  return reply.code(err.status).type('application/json').send(JSON.stringify(body));
}

/** Turns Fastify's own errors (parsing, limits) and unexpected ones into the Graph vocabulary. */
export function toGraphError(err: FastifyError | Error, deps: AppDeps): GraphError {
  if (err instanceof GraphError) return err;
  if (isDatabaseUnavailable(err)) {
    return GraphError.serviceUnavailable('The service cannot reach its database; retry after the indicated delay.', deps.config.retryAfterSeconds);
  }
  const fe = err as FastifyError;
  switch (fe.code) {
    case 'ENOSPC':
      return GraphError.insufficientStorage();
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return GraphError.tooLarge(`The request body exceeds this route's limit of ${deps.config.bodyLimitBytes} bytes.`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return GraphError.badRequest("The request's Content-Type is not supported on this route; send application/json.");
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return GraphError.badRequest('The request body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return GraphError.badRequest('The request body is not valid JSON.');
    // PostgreSQL refuses a NUL in text: a key or filter value that reached a query with one is bad
    // input, not a fault (the statement failed, so nothing changed).
    case '22021':
      return GraphError.badRequest('The request contains a character that cannot be stored (U+0000).');
    default:
      break;
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) return GraphError.badRequest(`Invalid request: ${fe.message}`);
  if (fe.statusCode === 413) return GraphError.tooLarge(fe.message);
  return GraphError.internal();
}

interface KnownRoute {
  method: string;
  pattern: RegExp;
}

function routePattern(url: string): RegExp {
  const escaped = url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${escaped.join('/').replace(/\\\*$/, '.*')}$`);
}

/**
 * Installs the Graph error handler and the 404/405 handler. Every failure leaves the service as
 * a Graph error with request ids; unexpected ones are logged and answered with no details.
 */
export function installErrorHandling(app: FastifyInstance, deps: AppDeps): void {
  const routes: KnownRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, pattern: routePattern(route.url) });
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const graphError = toGraphError(err, deps);
    if (graphError.status >= 500) {
      request.log.error({ err, code: graphError.code }, 'request failed');
    } else {
      request.log.info({ code: graphError.code, status: graphError.status }, graphError.message);
    }
    return sendGraphError(reply, request, graphError, deps.clock());
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allow = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))].filter((m) => m !== 'HEAD');
    const err =
      allow.length > 0
        ? GraphError.methodNotAllowed(allow)
        : GraphError.notFound(`Resource not found for the segment '${path.split('/').filter(Boolean).pop() ?? '/'}'.`);
    return sendGraphError(reply, request, err, deps.clock());
  });
}
