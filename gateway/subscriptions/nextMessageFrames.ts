import type { SubscriptionResult } from './subscriptionHub.ts';

// RFC 6455 §5.2: FIN set, opcode 1 (text); a server's frames are never masked.
const FINAL_TEXT_FRAME = 0x81;
const MESSAGE_START = Buffer.from('{"type":"next","payload":');
const ID_MEMBER = Buffer.from(',"id":');

/**
 * graphql-transport-ws `next` messages as the bytes of WebSocket frames, ready to be written to
 * a subscriber's socket: `{"type":"next","payload":<result>,"id":<id>}`, each in a text frame of
 * its own. The id goes last, so that everything but the subscription's own tail (its id,
 * JSON-encoded so that any string the client chose stays one JSON string, and the closing
 * brace) is the same for every subscriber whose tail is as long: the frames of a batch are laid
 * out once per tail length, and each subscriber's are a copy of that template with its tail
 * written into each message. Subscribers that receive the same results are handed the same array
 * (see SubscriptionSink), which is what the templates are kept by.
 */
export class NextMessageFrames {
  private readonly templates = new WeakMap<readonly SubscriptionResult[], Map<number, FramesTemplate>>();

  /** What ends each message of the subscription `id`. */
  static tailOf(id: string): Buffer {
    return Buffer.from(`${JSON.stringify(id)}}`);
  }

  /** One buffer holding a frame per result, in order, each message ending with `tail`. */
  of(results: readonly SubscriptionResult[], tail: Buffer): Buffer {
    const { layout, tailOffsets } = this.templateOf(results, tail.length);
    const frames = Buffer.allocUnsafe(layout.length);
    frames.set(layout);
    for (const offset of tailOffsets) frames.set(tail, offset);
    return frames;
  }

  private templateOf(results: readonly SubscriptionResult[], tailLength: number): FramesTemplate {
    let byTailLength = this.templates.get(results);
    if (!byTailLength) this.templates.set(results, (byTailLength = new Map()));
    let template = byTailLength.get(tailLength);
    if (!template) byTailLength.set(tailLength, (template = framesTemplate(results, tailLength)));
    return template;
  }
}

/** The frames of a batch with room for the tails, and where each tail goes. */
interface FramesTemplate {
  readonly layout: Buffer;
  readonly tailOffsets: readonly number[];
}

function framesTemplate(results: readonly SubscriptionResult[], tailLength: number): FramesTemplate {
  const messageLengths = results.map((result) => MESSAGE_START.length + result.utf8.length + ID_MEMBER.length + tailLength);
  const layout = Buffer.alloc(messageLengths.reduce((size, length) => size + headerLength(length) + length, 0));
  const tailOffsets: number[] = [];
  let offset = 0;
  results.forEach((result, index) => {
    offset = writeHeader(layout, offset, messageLengths[index]!);
    for (const part of [MESSAGE_START, result.utf8, ID_MEMBER]) {
      layout.set(part, offset);
      offset += part.length;
    }
    tailOffsets.push(offset);
    offset += tailLength;
  });
  return { layout, tailOffsets };
}

/** The payload length takes 7 bits, or 16 after the marker 126, or 64 after 127. */
function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65_536 ? 4 : 10;
}

/** Writes a final text frame's header for `payloadLength` bytes at `offset`; returns where the payload goes. */
function writeHeader(target: Buffer, offset: number, payloadLength: number): number {
  target[offset] = FINAL_TEXT_FRAME;
  if (payloadLength < 126) {
    target[offset + 1] = payloadLength;
    return offset + 2;
  }
  if (payloadLength < 65_536) {
    target[offset + 1] = 126;
    target.writeUInt16BE(payloadLength, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  target.writeBigUInt64BE(BigInt(payloadLength), offset + 2);
  return offset + 10;
}
