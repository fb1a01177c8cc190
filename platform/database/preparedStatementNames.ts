/**
 * Names for prepared statements, so that each is prepared once per connection and then run by
 * name: PostgreSQL parses it once per connection instead of at every execution. `prefix` keeps
 * apart the names of senders that share connections' namespaces: Prisma's statements through
 * `@prisma/adapter-pg` (`prisma_`) and the driver reads that keep their plans (`kept_`: see
 * ReadOptions.reusePlan). The first `limit` distinct texts get names; later ones run
 * unnamed, as before (the empty name), because every name stays prepared on every pooled
 * connection for the life of the connection.
 */
export function preparedStatementNames(prefix: string, limit = 1_000): (query: { readonly sql: string }) => string {
  const nameBySql = new Map<string, string>();
  return ({ sql }) => {
    let name = nameBySql.get(sql);
    if (name === undefined && nameBySql.size < limit) nameBySql.set(sql, (name = `${prefix}_${nameBySql.size + 1}`));
    return name ?? '';
  };
}
