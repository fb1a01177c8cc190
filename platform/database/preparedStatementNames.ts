/**
 * Names for the statements Prisma sends through `@prisma/adapter-pg`, so that each is prepared
 * once per connection and then run by name: PostgreSQL parses it once per connection instead of
 * at every execution (it still plans it for its parameters at every run: see database.ts). The
 * first `limit` distinct texts get names; later ones run unnamed, as before (the empty name),
 * because every name stays prepared on every pooled connection for the life of the connection.
 */
export function preparedStatementNames(limit = 1_000): (query: { readonly sql: string }) => string {
  const nameBySql = new Map<string, string>();
  return ({ sql }) => {
    let name = nameBySql.get(sql);
    if (name === undefined && nameBySql.size < limit) nameBySql.set(sql, (name = `prisma_${nameBySql.size + 1}`));
    return name ?? '';
  };
}
