import { checkPayload, EVENT_CONTRACTS, EventContractError, type EventContract } from '../contracts/events.ts';
import type { BusEvent } from './eventBus.ts';

/** A bus event whose payload met its contract, with the key and sequence that name it. */
export interface DecodedEvent<Payload = unknown> extends BusEvent {
  readonly payload: Payload;
  readonly contract: EventContract<Payload>;
  readonly key: string;
  readonly sequence: number;
}

export type Decoding = { readonly ok: true; readonly event: DecodedEvent } | { readonly ok: false; readonly reason: string };

/**
 * Checks a bus event against the contract of its type: decoded, or why it is refused (a type no
 * contract names, or a payload that breaks its contract). This function does not throw.
 */
export function decodeEvent(event: BusEvent, contracts: ReadonlyMap<string, EventContract<any>> = EVENT_CONTRACTS): Decoding {
  const contract = contracts.get(event.type);
  if (!contract) return { ok: false, reason: `no contract names the event type ${JSON.stringify(event.type)}` };
  try {
    const payload = checkPayload(contract, event.payload);
    return { ok: true, event: { ...event, payload, contract, key: contract.keyOf(payload), sequence: contract.sequenceOf(payload) } };
  } catch (error) {
    return { ok: false, reason: error instanceof EventContractError ? error.message : String(error) };
  }
}
