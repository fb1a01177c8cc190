import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { NextMessageFrames } from '../../gateway/subscriptions/nextMessageFrames.ts';
import { SubscriptionResult } from '../../gateway/subscriptions/subscriptionHub.ts';

describe('next messages framed once and written straight to the socket under a WebSocket', () => {
  let server: WebSocketServer;
  /** The TCP socket under the server's end of the latest connection. */
  let connected: Promise<Socket>;
  const port = () => (server.address() as { port: number }).port;

  before(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await new Promise((resolve) => server.once('listening', resolve));
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  /** A client connection, and the messages it reads, parsed, once `count` have arrived. */
  const client = async (count: number) => {
    connected = new Promise((resolve) => server.once('connection', (_socket, request) => resolve(request.socket as Socket)));
    const socket = new WebSocket(`ws://127.0.0.1:${port()}`);
    const messages: unknown[] = [];
    const read = new Promise<unknown[]>((resolve, reject) => {
      socket.on('message', (data, isBinary) => {
        assert.equal(isBinary, false, 'a text frame');
        messages.push(JSON.parse(data.toString()));
        if (messages.length === count) resolve(messages);
      });
      // ws closes with 1002 (protocol error) or 1007 (invalid UTF-8) on a malformed frame.
      socket.on('close', (code) => reject(new Error(`closed with ${code} after ${messages.length} messages`)));
    });
    await new Promise((resolve) => socket.once('open', resolve));
    return { raw: await connected, read, close: () => socket.terminate() };
  };

  it('frames results of every length class, and ids with characters JSON escapes, as messages a WebSocket client reads whole', async () => {
    // Given results whose messages take a 7-bit, a 16-bit and a 64-bit length, one in characters outside ASCII
    const payloads = [
      { data: { stockChanged: { sequence: 1 } } },
      { data: { stockChanged: { description: 'Çà 日本 🚀 '.repeat(40) } } },
      { data: { stockChanged: { note: 'x'.repeat(70_000) } }, extensions: { correlationId: 'c-1' } },
    ];
    const results = payloads.map((payload) => new SubscriptionResult(JSON.stringify(payload)));
    // and subscriptions whose ids are short, long and full of what JSON escapes, on one connection
    const ids = ['1', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', 'he said "hi" \\ 🚀\n'];
    const frames = new NextMessageFrames();
    const { raw, read, close } = await client(ids.length * results.length);

    // When each subscription's frames of the same results are written to the socket
    for (const id of ids) raw.write(frames.of(results, NextMessageFrames.tailOf(id)));

    // Then the client reads each as the graphql-transport-ws next message of its subscription
    const messages = await read;
    close();
    assert.deepEqual(messages, ids.flatMap((id) => payloads.map((payload) => ({ type: 'next', payload, id }))));
  });

  it('frames a batch of many results in one buffer, messages in order', async () => {
    const payloads = Array.from({ length: 300 }, (_, index) => ({ data: { stockChanged: { sequence: index + 1 } } }));
    const results = payloads.map((payload) => new SubscriptionResult(JSON.stringify(payload)));
    const frames = new NextMessageFrames();
    const { raw, read, close } = await client(payloads.length);

    raw.write(frames.of(results, NextMessageFrames.tailOf('batch')));

    const messages = await read;
    close();
    assert.deepEqual(messages, payloads.map((payload) => ({ type: 'next', payload, id: 'batch' })));
  });
});
