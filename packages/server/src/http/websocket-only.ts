import type { FastifyReply, FastifyRequest } from 'fastify';

/** The plain-HTTP handler of a WebSocket route: 426, telling the client to upgrade. */
export function websocketOnly(_req: FastifyRequest, reply: FastifyReply): void {
  reply
    .code(426)
    .header('upgrade', 'websocket')
    .send({
      error: {
        code: 'ICEBERG_ERR_INPUT_INVALID',
        message: 'this endpoint speaks WebSocket only: send an upgrade request',
      },
    });
}
