import { randomUUID } from 'node:crypto';
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { sendProblem, toProblem } from '../errors/problem-details.filter.js';
import { SECURITY_HEADERS } from './security-headers.js';

/*
 * The answers Fastify and Node give themselves, before any hook or filter runs, in the APIs' format
 * (RFC 9457 problem+json) with the headers every other response carries: helmet's, a request id,
 * `Cache-Control: no-store`.
 */

/**
 * Fastify's `frameworkErrors`: the router could not route the request (a URL it cannot decode, a
 * route parameter past its length limit). No route matched, so no surface: the APIs' format.
 */
export function frameworkErrors(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  for (const [name, value] of SECURITY_HEADERS) reply.header(name, value);
  reply.header('x-request-id', request.id);
  sendProblem(reply, request, error);
  // No onResponse hook runs for this answer: logged here, as the request logger would.
  const root = PinoLogger.root;
  if (root?.isLevelEnabled('info')) root.info({ requestId: request.id, method: request.method, path: request.url.split('?')[0], status: reply.statusCode }, 'request completed');
}

// Node's codes (not Latchkey's) for a request not received in time, and for headers past the size limit.
const TIMED_OUT = /^ERR_HTTP_REQUEST_TIMEOUT$/;
const HEADERS_TOO_LARGE = /^HPE_HEADER_OVERFLOW$/;

function clientErrorStatus(code: string): { status: number; detail: string } {
  if (TIMED_OUT.test(code)) return { status: 408, detail: 'The request was not received in time.' };
  if (HEADERS_TOO_LARGE.test(code)) return { status: 431, detail: 'The request headers are too large.' };
  return { status: 400, detail: 'The request is not valid HTTP.' };
}

/**
 * Fastify's `clientErrorHandler`: Node could not parse the request (an invalid header, a NUL or a
 * bare CR in one), or did not receive it in time (the request and headers timeouts). There is no
 * request to speak of, so the answer is written to the socket, with a new request id, and the
 * connection is closed. Only Node's error code is logged: the error holds the raw request bytes.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A response already started on this connection cannot be followed by another one.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, detail } = clientErrorStatus(err.code ?? '');
  const requestId = randomUUID();
  const body = JSON.stringify({ ...toProblem(Object.assign(new Error(detail), { statusCode: status })), request_id: requestId });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    ...SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}`),
    `x-request-id: ${requestId}`,
    'content-type: application/problem+json; charset=utf-8',
    'cache-control: no-store',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  const root = PinoLogger.root;
  if (root?.isLevelEnabled('info')) root.info({ requestId, status, reason: err.code }, 'client error');
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
