import { UnreachableCaseError } from '../../platform/lang/unreachableCaseError.ts';

/** Which ERP requests a fault may hit: balances pages, staged transactions (posts and look-ups), or any. */
export type ErpFaultTarget = 'balances' | 'transactions' | 'any';

/** How many of the requests in reach a fault hits: the next `times`, or a share of them. */
interface FaultReach {
  /** How many matching requests it hits, then it is gone; 1 by default. Not with probability. */
  readonly times?: number;
  /** The share of matching requests it hits, from 0 to 1, until cleared. Not with times. */
  readonly probability?: number;
  /** Seeds the draws for probability, so that a run can be repeated; drawn at random by default (the listing shows it). */
  readonly seed?: number;
}

/** Which requests are in reach: `target` ('any' by default), and with `offset` only the balances page at that offset. */
interface FaultScope extends FaultReach {
  readonly target?: ErpFaultTarget;
  readonly offset?: number;
}

/**
 * Something going wrong with the ERP, as the simulator can stage it. A fault that "handles" the
 * request does what the ERP would (a transaction is taken) before it spoils the answer, because a
 * slow or lost answer does not undo what the ERP did; one that does not handle it changes nothing.
 */
export type ErpFault =
  /** Handles the request, then holds the answer for `ms` milliseconds. */
  | (FaultScope & { readonly kind: 'latency'; readonly ms: number })
  /** Handles the request and never answers: the client must give up (held until the simulator stops). */
  | (FaultScope & { readonly kind: 'timeout' })
  /** Answers `status` (400-599) without handling the request. */
  | (FaultScope & { readonly kind: 'status'; readonly status: number })
  /** Answers 429 with `Retry-After: retryAfterSeconds` (1 by default) without handling the request. */
  | (FaultScope & { readonly kind: 'rateLimit'; readonly retryAfterSeconds?: number })
  /** Handles the request, then destroys the connection without answering. */
  | (FaultScope & { readonly kind: 'drop' })
  /** Handles the request, then answers 200 with the first half of the answer's body: JSON that does not parse. */
  | (FaultScope & { readonly kind: 'malformed' })
  /**
   * Accepts the next staged transactions that change a balance as usual (201, the record as
   * posted), but adds `offBy` to what it applies at their own subinventory: a success that keeps a
   * wrong balance. A transfer's other side is right; a repost or refusal is not hit.
   */
  | (FaultReach & { readonly kind: 'wrongBalance'; readonly offBy: number })
  /** Answers 503 to every request in reach for `durationMs` from the moment it is injected; then the ERP is back. */
  | { readonly kind: 'down'; readonly durationMs: number; readonly target?: ErpFaultTarget };

/** The faults that decide how a request is answered (all but wrongBalance, which changes what an accepted transaction does). */
export type AnswerFault = Exclude<ErpFault, { readonly kind: 'wrongBalance' }>;

/** A fault in force, as GET /admin/faults lists it. */
export type ActiveFault = ErpFault & {
  readonly id: number;
  /** Requests it has hit so far. */
  readonly hits: number;
  /** When a `down` fault ends, ISO 8601. */
  readonly endsAt?: string;
};

/** The kind of request a fault is weighed against: 'other' is a path the ERP does not serve, in reach of target 'any' only. */
export type RequestArea = 'balances' | 'transactions' | 'other';

const KINDS = ['latency', 'timeout', 'status', 'rateLimit', 'drop', 'malformed', 'wrongBalance', 'down'] as const;
const TARGETS: readonly ErpFaultTarget[] = ['balances', 'transactions', 'any'];
const REACH = ['times', 'probability', 'seed'];
const SCOPE = [...REACH, 'target', 'offset'];
const ATTRIBUTES: Record<ErpFault['kind'], readonly string[]> = {
  latency: [...SCOPE, 'ms'],
  timeout: SCOPE,
  status: [...SCOPE, 'status'],
  rateLimit: [...SCOPE, 'retryAfterSeconds'],
  drop: SCOPE,
  malformed: SCOPE,
  wrongBalance: [...REACH, 'offBy'],
  down: ['target', 'durationMs'],
};

/**
 * The fault `value` describes, with only its own attributes, or every problem with it in one
 * text: an attribute its kind does not take is a problem (a misspelt `times` would otherwise make
 * a fault that hits forever, or once).
 */
export function readFault(value: unknown): ErpFault | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a fault must be an object with a kind';
  const fields = value as Record<string, unknown>;
  const kind = fields.kind as ErpFault['kind'];
  if (!KINDS.includes(kind)) return `kind must be one of ${KINDS.join(', ')} (got ${JSON.stringify(fields.kind)})`;
  const problems = Object.keys(fields)
    .filter((name) => name !== 'kind' && !ATTRIBUTES[kind].includes(name))
    .map((name) => `a ${kind} fault takes no ${name}`);
  const check = (name: string, ok: (value: unknown) => boolean, expected: string, required = false) => {
    const given = fields[name];
    if (given === undefined ? required : !ok(given)) problems.push(`${name} must be ${expected} (got ${JSON.stringify(given)})`);
  };
  const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: unknown) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
  check('target', (v) => TARGETS.includes(v as ErpFaultTarget), `one of ${TARGETS.join(', ')}`);
  check('times', wholeNumber(1), 'a whole number of at least 1');
  check('probability', (v) => typeof v === 'number' && v >= 0 && v <= 1, 'a number from 0 to 1');
  check('seed', wholeNumber(0, 2 ** 32 - 1), 'a whole number from 0 to 4294967295');
  check('offset', wholeNumber(0), 'a whole number of at least 0');
  if (fields.times !== undefined && fields.probability !== undefined) problems.push('give times or probability, not both');
  if (fields.seed !== undefined && fields.probability === undefined) problems.push('seed draws for probability, which is not given');
  if (fields.offset !== undefined && fields.target === 'transactions') problems.push('offset picks a balances page, and target is transactions');
  switch (kind) {
    case 'latency': check('ms', wholeNumber(0), 'a whole number of milliseconds', true); break;
    case 'status': check('status', wholeNumber(400, 599), 'an HTTP status from 400 to 599', true); break;
    case 'rateLimit': check('retryAfterSeconds', wholeNumber(0), 'a whole number of seconds'); break;
    case 'wrongBalance': check('offBy', (v) => Number.isSafeInteger(v) && v !== 0, 'a non-zero whole number', true); break;
    case 'down': check('durationMs', wholeNumber(1), 'a whole number of milliseconds, at least 1', true); break;
    case 'timeout': case 'drop': case 'malformed': break;
    default: throw new UnreachableCaseError(kind);
  }
  if (problems.length) return problems.join('; ');
  return Object.freeze(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))) as ErpFault;
}

interface FaultEntry {
  readonly id: number;
  readonly fault: ErpFault;
  readonly seed?: number;
  readonly draw?: () => number;
  readonly endsAt?: number;
  hits: number;
}

/**
 * The faults in force, weighed in the order they were injected: a request takes the first fault in
 * reach that hits it (a probability fault that draws a miss lets the next one try), and at most
 * one; a `down` fault in reach comes before all others.
 */
export class FaultBoard {
  private entries: FaultEntry[] = [];
  private nextId = 1;

  /** @param fault as readFault returns it. */
  inject(fault: ErpFault): ActiveFault {
    const seed = fault.kind !== 'down' && fault.probability !== undefined ? (fault.seed ?? Math.floor(Math.random() * 2 ** 32)) : undefined;
    const entry: FaultEntry = {
      id: this.nextId++,
      fault,
      hits: 0,
      ...(seed === undefined ? {} : { seed, draw: mulberry32(seed) }),
      ...(fault.kind === 'down' ? { endsAt: Date.now() + fault.durationMs } : {}),
    };
    this.entries.push(entry);
    return view(entry);
  }

  /** Removes every fault; returns how many there were. */
  clear(): number {
    const count = this.live().length;
    this.entries = [];
    return count;
  }

  list(): ActiveFault[] {
    return this.live().map(view);
  }

  /**
   * The fault that decides how this request is answered, counted as a hit, or undefined.
   * @param offset the `offset` the request asked for ('0' when it named none).
   */
  answerFault(area: RequestArea, offset: string): AnswerFault | undefined {
    const live = this.live();
    const down = live.find((entry) => entry.fault.kind === 'down' && inTarget(entry.fault.target, area));
    if (down) return this.hit(down) as AnswerFault;
    const entry = live.find(({ fault, draw }) =>
      fault.kind !== 'down' && fault.kind !== 'wrongBalance'
      && inTarget(fault.target, area)
      && (fault.offset === undefined || (area === 'balances' && String(fault.offset) === offset))
      && (draw === undefined || draw() < fault.probability!));
    return entry && (this.hit(entry) as AnswerFault);
  }

  /** What to add to an accepted transaction's own balance change: a wrongBalance fault's offBy, counted as a hit, or 0. */
  balanceError(): number {
    const entry = this.live().find(({ fault, draw }) => fault.kind === 'wrongBalance' && (draw === undefined || draw() < fault.probability!));
    return entry ? (this.hit(entry) as Extract<ErpFault, { kind: 'wrongBalance' }>).offBy : 0;
  }

  /** Faults still in force: a counted fault is gone once it has hit `times` requests, a `down` fault once it has ended. */
  private live(): FaultEntry[] {
    const now = Date.now();
    this.entries = this.entries.filter(({ fault, hits, endsAt, draw }) =>
      endsAt !== undefined ? now < endsAt : draw !== undefined || hits < ((fault as FaultReach).times ?? 1));
    return this.entries;
  }

  private hit(entry: FaultEntry): ErpFault {
    entry.hits++;
    return entry.fault;
  }
}

const inTarget = (target: ErpFaultTarget = 'any', area: RequestArea) => target === 'any' || target === area;

function view({ id, fault, hits, seed, endsAt }: FaultEntry): ActiveFault {
  return {
    ...fault,
    ...(seed === undefined ? {} : { seed }),
    id,
    hits,
    ...(endsAt === undefined ? {} : { endsAt: new Date(endsAt).toISOString() }),
  };
}

/** A small, fast PRNG with a 32-bit seed (Tommy Ettinger's Mulberry32); uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
