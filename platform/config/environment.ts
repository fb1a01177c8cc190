import { z } from 'zod';

/** A configuration value that is missing or malformed; `message` names the variable. */
export class ConfigurationError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigurationError';
  }
}

/** Environment variables as Node hands them over: unset and empty mean the same. */
export type Environment = Readonly<Record<string, string | undefined>>;

const portNumber = z.coerce
  .number({ message: 'must be a port number' })
  .int('must be a whole port number')
  .min(0, 'must be a port number between 0 and 65535 (0 picks a free port)')
  .max(65535, 'must be a port number between 0 and 65535 (0 picks a free port)');

const MIN_SECRET_LENGTH = 16;
// Marks a variable whose value an error must not repeat.
const SECRET = 'secret';

export const variable = {
  port: (fallback: number) => portNumber.default(fallback),
  positiveInt: (fallback: number) =>
    z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').default(fallback),
  text: (fallback: string) => z.string().min(1).default(fallback),
  url: (protocols: readonly string[]) =>
    z.string().refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`),
  oneOf: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
    z.enum(values, { message: `must be one of ${values.join(', ')}` }).default(fallback),
  /** A shared secret (a bearer token): long enough that it cannot be guessed, and never quoted in an error. */
  secret: () => z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters, so that it cannot be guessed`).describe(SECRET),
};

export const postgresUrl = variable.url(['postgres:', 'postgresql:']);
export const redisUrl = variable.url(['redis:', 'rediss:']);
export const logLevel = variable.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info');

/**
 * Reads the variables named by `shape` from `env`, validating each, and returns them frozen.
 * Throws ConfigurationError for the first bad variable, in `shape` order.
 */
export function readEnvironment<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: Environment,
): Readonly<z.infer<z.ZodObject<Shape>>> {
  const present = Object.fromEntries(
    Object.keys(shape)
      .map((name) => [name, env[name]?.trim()] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = z.object(shape).safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0]);
    const detail = issue.code === 'invalid_type' && present[name] === undefined ? 'is required' : issue.message;
    const quotable = present[name] !== undefined && !isSecret(shape[name]);
    throw new ConfigurationError(name, quotable ? `${detail} (got "${present[name]}")` : detail);
  }
  return Object.freeze(result.data);
}

/**
 * `json`, the value of `name`, parsed and checked against `schema`; throws ConfigurationError
 * naming the variable and the first problem, with its path in the value.
 */
export function parseJsonVariable<Schema extends z.ZodType>(name: string, json: string, schema: Schema): z.infer<Schema> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new ConfigurationError(name, `must be JSON (${(error as Error).message})`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigurationError(name, `${issue.path.join('.') || '(the whole value)'}: ${issue.message}`);
  }
  return result.data;
}

/** Whether the variable was declared with variable.secret(), under .optional() or .default() too. */
function isSecret(schema: unknown): boolean {
  for (let current = schema as { description?: string; unwrap?: () => unknown } | undefined; current; ) {
    if (current.description === SECRET) return true;
    current = typeof current.unwrap === 'function' ? (current.unwrap() as typeof current) : undefined;
  }
  return false;
}
