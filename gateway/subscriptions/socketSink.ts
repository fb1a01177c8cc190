import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { SubscriptionResult, SubscriptionSink } from './subscriptionHub.ts';
import type { NextMessageFrames } from './nextMessageFrames.ts';

export interface SocketSinkOptions {
  /** The subscription's WebSocket: results go out only while it is open. */
  readonly webSocket: WebSocket;
  /** The TCP socket under it (the upgraded request's), which the frames are written to. */
  readonly connection: Socket;
  readonly frames: NextMessageFrames;
  /** What ends each of the subscription's messages (NextMessageFrames.tailOf its id). */
  readonly tail: Buffer;
  /** Results that may wait in the connection's buffer, not yet written out, before more are refused. */
  readonly maxUnsent: number;
  /** Hears of each offer: how many results were taken, how many refused. */
  readonly onOffer?: (sent: number, dropped: number) => void;
}

/**
 * A subscription's results written straight to the TCP socket under its WebSocket, as frames
 * that keep their place among ws's own (ws writes each frame as it is sent when it does not
 * compress). Results count as unsent while they wait in the socket's buffer: the ones the socket
 * has written out to the kernel no longer do, though the write callbacks that say so run only
 * after the synchronous stretch that wrote them (a subscriber's live batches delivered one after
 * another when it catches up, or several batches' lookups answered at once).
 */
export class SocketSink implements SubscriptionSink {
  /** Results handed to the socket, and of those how many it has written out (a count up to a point: writes finish in order). */
  private handed = 0;
  private writtenOut = 0;

  constructor(private readonly options: SocketSinkOptions) {}

  /** The results handed to the socket that wait in its buffer. */
  get unsent(): number {
    // An empty buffer: everything handed was written out, whether or not its callback has run.
    if (this.options.connection.writableLength === 0) this.writtenOut = this.handed;
    return this.handed - this.writtenOut;
  }

  send(results: readonly SubscriptionResult[]): boolean {
    const { webSocket, connection, frames, tail, maxUnsent, onOffer } = this.options;
    // A closing connection takes nothing more: its subscriptions end with it.
    if (webSocket.readyState !== WebSocket.OPEN) return true;
    const room = Math.max(0, maxUnsent - this.unsent);
    const taken = results.length <= room ? results : results.slice(0, room);
    onOffer?.(taken.length, results.length - taken.length);
    if (taken.length > 0) {
      const through = (this.handed += taken.length);
      connection.write(frames.of(taken, tail), () => (this.writtenOut = Math.max(this.writtenOut, through)));
    }
    return taken.length === results.length;
  }
}
