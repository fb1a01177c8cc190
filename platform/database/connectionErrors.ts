/**
 * One line, with what to do, for a failure to reach the database at start (`npm run db:migrate`,
 * a service): the database missing, PostgreSQL down, the credentials refused. Null for anything
 * else. The URL is not repeated: it may hold a password.
 */
export function describeConnectionFailure(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const { code } = error as { code?: unknown };
  const database = error.message.match(/^database "(.+)" does not exist$/)?.[1];
  if (code === '3D000' && database) {
    return `database "${database}" does not exist: create it (createdb ${database}, or CREATE DATABASE "${database}" as a user allowed to), then try again`;
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
    return `cannot reach PostgreSQL (${error.message}): is it running, and does DATABASE_URL name its host and port?`;
  }
  if (code === '28P01' || code === '28000') return `PostgreSQL refused the credentials in DATABASE_URL (${error.message})`;
  return null;
}
