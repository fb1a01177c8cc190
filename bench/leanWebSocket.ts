import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';

// RFC 6455: the GUID a server hashes the client's key with (§1.3), and the opcodes (§5.2).
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const Opcode = { TEXT: 0x1, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** Hears of a text message: its bytes are `data[start, end)`, valid only during the call. */
export type OnText = (data: Buffer, start: number, end: number) => void;

/**
 * The client end of a WebSocket for a load generator: the handshake over node:http, then frames
 * read straight from the socket, each text message handed over as a range of the bytes read, so
 * that a result costs the benchmark a few byte comparisons. ws's client spends more on each
 * message (a stream write, an event, a buffer) than the gateway spends delivering it, and the
 * clients share the machine's 2 cores with what they measure. It
 * speaks what a benchmark of our gateway needs: unfragmented text frames from a server that does
 * not compress (and answers its pings); what it sends it masks, as a client must (§5.3).
 */
export class LeanWebSocket {
  private pending: Buffer | null = null;
  /** The close code the server sent, or the error that ended the connection; null while open. */
  ended: string | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly onText: OnText,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error) => (this.ended ??= error.message));
    socket.on('close', () => (this.ended ??= 'closed'));
  }

  /** Opens a WebSocket to `url` speaking `protocol`; `onText` hears of every text message from the first. */
  static connect(url: string, protocol: string, onText: OnText): Promise<LeanWebSocket> {
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const request = http.request(url.replace(/^ws/, 'http'), {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13', 'sec-websocket-protocol': protocol },
      });
      request.on('upgrade', (response, socket, head) => {
        const accept = createHash('sha1').update(`${key}${ACCEPT_GUID}`).digest('base64');
        if (response.headers['sec-websocket-accept'] !== accept || response.headers['sec-websocket-protocol'] !== protocol) {
          socket.destroy();
          reject(new Error(`${url} accepted the WebSocket wrongly: ${JSON.stringify(response.headers)}`));
          return;
        }
        socket.setNoDelay(true);
        const webSocket = new LeanWebSocket(socket, onText);
        resolve(webSocket);
        if (head.length > 0) webSocket.read(head);
      });
      request.on('response', (response) => reject(new Error(`${url} answered ${response.statusCode} instead of switching to WebSocket`)));
      request.on('error', reject);
      request.end();
    });
  }

  sendText(text: string): void {
    this.sendFrame(Opcode.TEXT, Buffer.from(text));
  }

  /** Drops the connection, without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= 2) {
      const first = data[offset]!;
      const second = data[offset + 1]!;
      let header = 2;
      let length = second & 0x7f;
      if (length === 126) {
        header = 4;
        if (data.length - offset < header) break;
        length = data.readUInt16BE(offset + 2);
      } else if (length === 127) {
        header = 10;
        if (data.length - offset < header) break;
        length = Number(data.readBigUInt64BE(offset + 2));
      }
      if (data.length - offset < header + length) break;
      const start = offset + header;
      offset = start + length;
      if ((first & 0x80) === 0 || (second & 0x80) !== 0) throw new Error('a fragmented or masked frame from the server, which this client does not take');
      const opcode = first & 0x0f;
      if (opcode === Opcode.TEXT) this.onText(data, start, offset);
      else if (opcode === Opcode.PING) this.sendFrame(Opcode.PONG, data.subarray(start, offset));
      else if (opcode === Opcode.CLOSE) {
        this.ended ??= `closed with ${length >= 2 ? data.readUInt16BE(start) : 'no code'}`;
        this.socket.destroy();
        return;
      }
    }
    this.pending = offset < data.length ? data.subarray(offset) : null;
  }

  private sendFrame(opcode: number, payload: Buffer): void {
    const { length } = payload;
    if (length >= 65_536) throw new Error('this client sends messages under 64 KiB only');
    const header = Buffer.from(length < 126 ? [0x80 | opcode, 0x80 | length] : [0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
    const mask = randomBytes(4);
    const masked = Buffer.allocUnsafe(length);
    for (let index = 0; index < length; index++) masked[index] = payload[index]! ^ mask[index & 3]!;
    this.socket.write(Buffer.concat([header, mask, masked]));
  }
}
