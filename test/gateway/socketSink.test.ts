import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { NextMessageFrames } from '../../gateway/subscriptions/nextMessageFrames.ts';
import { SocketSink } from '../../gateway/subscriptions/socketSink.ts';
import { SubscriptionResult } from '../../gateway/subscriptions/subscriptionHub.ts';
import { useCleanup } from '../support/cleanup.ts';

const SUBSCRIPTION_ID = 'subscription-1';

describe("a subscription's results written to its socket, counted as unsent while they wait in its buffer", () => {
  const cleanup = useCleanup();
  let server: WebSocketServer;
  const port = () => (server.address() as { port: number }).port;

  before(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(server, 'listening');
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  /** A client connection, the server's WebSocket and TCP socket for it, and a promise of the payloads it has read once there are `count`. */
  const connect = async () => {
    const accepted = once(server, 'connection') as Promise<[WebSocket, { socket: Socket }]>;
    const client = new WebSocket(`ws://127.0.0.1:${port()}`);
    cleanup(() => client.terminate());
    const payloads: unknown[] = [];
    const waiters = new Set<() => void>();
    client.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; id: string; payload: unknown };
      assert.deepEqual([message.type, message.id], ['next', SUBSCRIPTION_ID]);
      payloads.push(message.payload);
      for (const waiter of waiters) waiter();
    });
    const [[webSocket, request]] = await Promise.all([accepted, once(client, 'open')]);
    const read = (count: number) =>
      new Promise<unknown[]>((resolve, reject) => {
        const check = () => payloads.length >= count && (waiters.delete(check), resolve(payloads));
        waiters.add(check);
        client.once('close', (code) => reject(new Error(`closed with ${code} after ${payloads.length} of ${count} messages`)));
        check();
      });
    return { client, webSocket, connection: request.socket, payloads, read };
  };

  const sinkOn = (connection: Awaited<ReturnType<typeof connect>>, maxUnsent: number, offers: [number, number][] = []) =>
    new SocketSink({
      webSocket: connection.webSocket,
      connection: connection.connection,
      frames: new NextMessageFrames(),
      tail: NextMessageFrames.tailOf(SUBSCRIPTION_ID),
      maxUnsent,
      onOffer: (sent, dropped) => offers.push([sent, dropped]),
    });
  const result = (n: number, padding = '') => new SubscriptionResult(JSON.stringify({ data: { n, padding } }));

  it('takes batch after batch handed over at once, more than the limit in all, when the socket writes each out', async () => {
    // Given a subscription allowed 10 unsent results, on a client that reads
    const connection = await connect();
    const sink = sinkOn(connection, 10);

    // When 50 batches of one result are handed over in one synchronous stretch (as a catching-up
    // subscriber's waiting batches are), before any write's callback can run
    const taken = Array.from({ length: 50 }, (_, n) => sink.send([result(n)]));

    // Then every one is taken, none counts as waiting, and the client reads them all in order
    assert.deepEqual(taken, Array(50).fill(true));
    assert.equal(sink.unsent, 0);
    assert.deepEqual(await connection.read(50), Array.from({ length: 50 }, (_, n) => ({ data: { n, padding: '' } })));
  });

  it('refuses results once the limit waits in the buffer of a client that reads nothing, and takes them again once it has read', async () => {
    // Given a subscription allowed 4 unsent results, on a client that has stopped reading
    const connection = await connect();
    const offers: [number, number][] = [];
    const sink = sinkOn(connection, 4, offers);
    connection.client.pause();
    const large = 'x'.repeat(256 * 1024);

    // When results of 256 KiB are handed over one at a time until one is refused (the kernel's
    // buffers fill first, then the socket's)
    let handed = 0;
    while (sink.send([result(handed, large)])) {
      handed += 1;
      assert.ok(handed < 2_000, 'a socket whose reader reads nothing fills up');
    }

    // Then the refused one came when 4 waited in the socket's buffer, and it was reported dropped
    assert.equal(sink.unsent, 4);
    assert.ok(connection.connection.writableLength > 0, 'the socket holds what it could not write out');
    assert.deepEqual(offers.at(-1), [0, 1]);
    assert.ok(handed > 4, `the kernel took results before any waited (${handed} taken)`);

    // When the client reads again and the socket has written out all it held
    connection.client.resume();
    await once(connection.connection, 'drain');

    // Then nothing counts as waiting, the next result is taken, and the client read every taken result whole and in order
    assert.equal(sink.unsent, 0);
    assert.equal(sink.send([result(handed, large)]), true);
    const payloads = (await connection.read(handed + 1)) as { data: { n: number; padding: string } }[];
    assert.deepEqual(payloads.map((payload) => payload.data.n), Array.from({ length: handed + 1 }, (_, n) => n));
    assert.ok(payloads.every((payload) => payload.data.padding === large));
  });

  it('takes nothing for a WebSocket that is closing, without refusing', async () => {
    // Given a subscription whose WebSocket the server is closing
    const connection = await connect();
    const sink = sinkOn(connection, 4);
    connection.webSocket.close(1000);

    // When results are handed over, then the closing handshake ends
    const taken = sink.send([result(1), result(2)]);
    const [code] = await once(connection.client, 'close');

    // Then they were not refused (the subscription ends with its connection), and the client read none
    assert.equal(taken, true);
    assert.equal(code, 1000);
    assert.equal(sink.unsent, 0);
    assert.deepEqual(connection.payloads, []);
  });
});
