import { ConfigurationError, parseJsonVariable, readEnvironment, variable, type Environment } from '../../platform/config/environment.ts';
import { erpOrganizationPairs, readErpOrganizations } from '../../platform/config/erpOrganizations.ts';
import { z } from 'zod';
import { MAX_STOCK_QUANTITY } from './domain/quantityRange.ts';
import type { AllocationStrategy } from './domain/reservations/allocateReservation.ts';
import type { SafetyStockDefaultRule } from './domain/safetyStock/safetyStockDefaults.ts';
import type { SourceMapping } from './domain/events/sourceMapping.ts';
import { EXAMPLE_MAPPINGS_DIR, loadSourceMappings } from './mappings/sourceMappings.ts';

export interface InventoryConfig {
  /** How each WMS source's events map to the canonical event, from the files in WMS_MAPPINGS_DIR. */
  readonly sourceMappings: readonly SourceMapping[];
  /** Signing secret per WMS source. */
  readonly wmsSourceSecrets: ReadonlyMap<string, string>;
  /** How far a signed batch's timestamp may be from the server's clock, in seconds. */
  readonly signatureWindowSeconds: number;
  readonly maxBatchEvents: number;
  /** A stock level whose WMS has been quiet longer than this is flagged stale, in seconds. */
  readonly staleAfterSeconds: number;
  /** How often the outbox relay looks for changes it was not woken for, in milliseconds. */
  readonly outboxPollIntervalMs: number;
  /**
   * How often stock levels whose promise figures are missing or stopped holding (a lot expired)
   * are summed again, in milliseconds. Reads are right meanwhile, only slower.
   */
  readonly promiseFiguresIntervalMs: number;
  /** Bearer token of POST /erp/balances; null turns CSV uploads off. */
  readonly erpImportToken: string | null;
  /** Bearer token of the internal order-stock API (see ORDER_STOCK_API), shared with the orders service; null refuses every call. */
  readonly internalApiToken: string | null;
  /** Where and how often to pull the ERP's on-hand balances; null when the ERP is not pulled. */
  readonly erpPull: ErpPullConfig | null;
  /** The locations each sales channel may promise from; a channel not listed may use every location. */
  readonly channelLocations: ReadonlyMap<string, readonly string[]>;
  readonly reservations: ReservationConfig;
  readonly transfers: TransferConfig;
  /**
   * The safety stock of a level that has none set for it, by location and item class
   * (SAFETY_STOCK_DEFAULTS); none: such levels keep back nothing.
   */
  readonly safetyStockDefaults: readonly SafetyStockDefaultRule[];
}

export interface TransferConfig {
  /** Whether a lot-controlled item's transfer must name its lots; otherwise they are chosen first-expiry-first-out. */
  readonly lotsRequired: boolean;
  /** Expected arrival of a transfer between locations that gives none, after it ships, in milliseconds. */
  readonly defaultTransitMs: number;
}

export interface ReservationConfig {
  /** Time to live of a reservation that does not give one, in seconds. */
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  /** How often the sweeper looks for reservations past their time to live, in milliseconds. */
  readonly sweepIntervalMs: number;
  /** How a reservation without a location is spread over the channel's locations. */
  readonly defaultStrategy: AllocationStrategy;
  readonly strategyByChannel: ReadonlyMap<string, AllocationStrategy>;
}

export interface ErpPullConfig {
  /** The ERP's base URL; the inventory balances resource path is appended. */
  readonly baseUrl: string;
  /** ERP organization code -> Stockgraph location id. */
  readonly organizationLocations: Readonly<Record<string, string>>;
  /** Time between pulls, in milliseconds. */
  readonly intervalMs: number;
  /** HTTP Basic credentials; both or neither. */
  readonly username?: string;
  readonly password?: string;
}

const sourceSecrets = z
  .string()
  .regex(/^[A-Za-z0-9._-]+=[^,\s]+(,[A-Za-z0-9._-]+=[^,\s]+)*$/, 'must look like source=secret,other-source=secret');

const channelRules = z
  .string()
  .regex(/^[^=,\s|]+=[^=,\s|]+(\|[^=,\s|]+)*(,[^=,\s|]+=[^=,\s|]+(\|[^=,\s|]+)*)*$/, 'must look like WEB=DC-01|DC-02,STORE=DC-03');

const allocationRules = z
  .string()
  .regex(
    /^(priority|most-available)(,[^=,\s]+=(priority|most-available))*$/,
    'must look like most-available or most-available,WEB=priority (a default, then per-channel strategies)',
  );

const SAFETY_STOCK_DEFAULTS = 'SAFETY_STOCK_DEFAULTS';

// {"<location id or *>": {"<item class or *>": units}}
const hasNoEmptyKey = (value: Record<string, unknown>) => !Object.hasOwn(value, '');
const safetyStockDefaults = z.record(
  z.string(),
  z.record(
    z.string(),
    z.number().int('must be a whole number of units').min(0, 'must be at least 0').max(MAX_STOCK_QUANTITY, `must be at most ${MAX_STOCK_QUANTITY}`),
  ).refine(hasNoEmptyKey, 'names an empty item class (* stands for any class)'),
).refine(hasNoEmptyKey, 'names an empty location id (* stands for any location)');

/** Reads the inventory subgraph's own variables. */
export function readInventoryConfig(env: Environment): InventoryConfig {
  const values = readEnvironment(
    {
      WMS_MAPPINGS_DIR: z.string().default(EXAMPLE_MAPPINGS_DIR),
      WMS_SOURCE_SECRETS: sourceSecrets.optional(),
      WMS_SIGNATURE_WINDOW_SECONDS: variable.positiveInt(300),
      WMS_MAX_BATCH_EVENTS: variable.positiveInt(1_000),
      STALE_AFTER_SECONDS: variable.positiveInt(3_600),
      OUTBOX_POLL_INTERVAL_MS: variable.positiveInt(250),
      PROMISE_FIGURES_INTERVAL_MS: variable.positiveInt(60_000),
      ERP_IMPORT_TOKEN: variable.secret().optional(),
      INTERNAL_API_TOKEN: variable.secret().optional(),
      CHANNEL_LOCATIONS: channelRules.optional(),
      RESERVATION_DEFAULT_TTL_SECONDS: variable.positiveInt(900),
      RESERVATION_MAX_TTL_SECONDS: variable.positiveInt(86_400),
      RESERVATION_SWEEP_INTERVAL_MS: variable.positiveInt(1_000),
      RESERVATION_ALLOCATION: allocationRules.default('most-available'),
      TRANSFER_LOT_SELECTION: variable.oneOf(['fefo', 'required'], 'fefo'),
      TRANSFER_TRANSIT_HOURS: variable.positiveInt(48),
      SAFETY_STOCK_DEFAULTS: z.string().optional(),
    },
    env,
  );
  if (values.RESERVATION_DEFAULT_TTL_SECONDS > values.RESERVATION_MAX_TTL_SECONDS) {
    throw new ConfigurationError('RESERVATION_DEFAULT_TTL_SECONDS', `must not exceed RESERVATION_MAX_TTL_SECONDS (${values.RESERVATION_MAX_TTL_SECONDS})`);
  }
  const [defaultStrategy, ...channelStrategies] = values.RESERVATION_ALLOCATION.split(',') as [AllocationStrategy, ...string[]];
  const secrets = (values.WMS_SOURCE_SECRETS ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=') as [string, string]);
  return Object.freeze({
    sourceMappings: readSourceMappings(values.WMS_MAPPINGS_DIR),
    wmsSourceSecrets: new Map(secrets),
    signatureWindowSeconds: values.WMS_SIGNATURE_WINDOW_SECONDS,
    maxBatchEvents: values.WMS_MAX_BATCH_EVENTS,
    staleAfterSeconds: values.STALE_AFTER_SECONDS,
    outboxPollIntervalMs: values.OUTBOX_POLL_INTERVAL_MS,
    promiseFiguresIntervalMs: values.PROMISE_FIGURES_INTERVAL_MS,
    erpImportToken: values.ERP_IMPORT_TOKEN ?? null,
    internalApiToken: values.INTERNAL_API_TOKEN ?? null,
    ...readErp(env),
    channelLocations: new Map(
      (values.CHANNEL_LOCATIONS ?? '')
        .split(',')
        .filter(Boolean)
        .map((rule) => {
          const [channel, locations] = rule.split('=') as [string, string];
          return [channel, Object.freeze(locations.split('|'))] as const;
        }),
    ),
    reservations: Object.freeze({
      defaultTtlSeconds: values.RESERVATION_DEFAULT_TTL_SECONDS,
      maxTtlSeconds: values.RESERVATION_MAX_TTL_SECONDS,
      sweepIntervalMs: values.RESERVATION_SWEEP_INTERVAL_MS,
      defaultStrategy,
      strategyByChannel: new Map(channelStrategies.map((rule) => rule.split('=') as [string, AllocationStrategy])),
    }),
    transfers: Object.freeze({
      lotsRequired: values.TRANSFER_LOT_SELECTION === 'required',
      defaultTransitMs: values.TRANSFER_TRANSIT_HOURS * 3_600_000,
    }),
    safetyStockDefaults: readSafetyStockDefaults(values.SAFETY_STOCK_DEFAULTS),
  });
}

/** SAFETY_STOCK_DEFAULTS as one rule per location (or *) and item class (or *). */
function readSafetyStockDefaults(json: string | undefined): readonly SafetyStockDefaultRule[] {
  const byLocation = parseJsonVariable(SAFETY_STOCK_DEFAULTS, json ?? '{}', safetyStockDefaults);
  return Object.freeze(Object.entries(byLocation).flatMap(([locationId, byClass]) =>
    Object.entries(byClass).map(([itemClass, quantity]) => Object.freeze({ locationId, itemClass, quantity }))));
}

/** The ERP's address, organizations and credentials, for pulling its balances. */
function readErp(env: Environment): { erpPull: ErpPullConfig | null } {
  const values = readEnvironment(
    {
      ERP_BASE_URL: variable.url(['http:', 'https:']).optional(),
      ERP_ORGANIZATIONS: erpOrganizationPairs.optional(),
      ERP_PULL_INTERVAL_SECONDS: variable.positiveInt(3_600),
      ERP_USERNAME: z.string().optional(),
      ERP_PASSWORD: z.string().optional(),
    },
    env,
  );
  const { ERP_BASE_URL: baseUrl, ERP_ORGANIZATIONS: organizations, ERP_USERNAME: username, ERP_PASSWORD: password } = values;
  // Each of these alone would silently pull nothing, or pull without credentials.
  if (baseUrl === undefined) {
    if (organizations !== undefined) throw new ConfigurationError('ERP_BASE_URL', 'is required when ERP_ORGANIZATIONS is set');
    return { erpPull: null };
  }
  if (organizations === undefined) throw new ConfigurationError('ERP_ORGANIZATIONS', 'is required when ERP_BASE_URL is set (e.g. ORG1=DC-01,ORG2=DC-02)');
  if (username === undefined && password !== undefined) throw new ConfigurationError('ERP_USERNAME', 'is required when ERP_PASSWORD is set');
  if (username !== undefined && password === undefined) throw new ConfigurationError('ERP_PASSWORD', 'is required when ERP_USERNAME is set');
  const { organizationLocations } = readErpOrganizations(organizations);
  return {
    erpPull: Object.freeze({
      baseUrl,
      organizationLocations,
      intervalMs: values.ERP_PULL_INTERVAL_SECONDS * 1_000,
      ...(username === undefined ? {} : { username, password }),
    }),
  };
}

function readSourceMappings(dir: string): SourceMapping[] {
  try {
    return loadSourceMappings(dir);
  } catch (error) {
    throw new ConfigurationError('WMS_MAPPINGS_DIR', (error as Error).message);
  }
}
