import type { PrismaClient } from '../../../platform/database/database.ts';
import { Prisma } from '../../../platform/database/generated/client.ts';
import { ANY, type SafetyStockDefaultRule } from '../domain/safetyStock/safetyStockDefaults.ts';
import type { StockLevelKey } from './inventoryRepository.ts';

type Queryable = Prisma.TransactionClient | PrismaClient;

/**
 * The default safety stock of the level of item `sku` at `locationId` (SQL expressions), by the
 * rules in safety_stock_default and their precedence (SafetyStockDefaultRule): ordered by whether
 * the rule is for any location, then whether it is for any class, the first that matches. An
 * unclassified item (item_class null) matches only rules for any class.
 */
export function defaultSafetyStockOf(sku: Prisma.Sql, locationId: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`COALESCE((
    SELECT rule.quantity
      FROM safety_stock_default rule JOIN item ON item.sku = ${sku}
     WHERE rule.location_id IN (${locationId}, ${ANY}) AND rule.item_class IN (item.item_class, ${ANY})
     ORDER BY rule.location_id = ${ANY}, rule.item_class = ${ANY}
     LIMIT 1), 0)`;
}

/**
 * Replaces the stored default rules with `rules`, unless one names a location that does not
 * exist: then nothing is written and those locations are returned. Replicas that start at once
 * replace the rules one after the other (the table is locked), never interleaved.
 */
export async function replaceSafetyStockDefaults(prisma: PrismaClient, rules: readonly SafetyStockDefaultRule[]): Promise<{ unknownLocations: string[] }> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`LOCK TABLE safety_stock_default IN EXCLUSIVE MODE`;
    const named = [...new Set(rules.map((rule) => rule.locationId).filter((locationId) => locationId !== ANY))];
    const known = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM location WHERE id = ANY(${named}::text[])`;
    const unknownLocations = named.filter((locationId) => !known.some((location) => location.id === locationId));
    if (unknownLocations.length) return { unknownLocations };
    await tx.$executeRaw`DELETE FROM safety_stock_default`;
    await tx.$executeRaw`
      INSERT INTO safety_stock_default (location_id, item_class, quantity)
      SELECT * FROM unnest(${rules.map((rule) => rule.locationId)}::text[], ${rules.map((rule) => rule.itemClass)}::text[],
                           ${rules.map((rule) => rule.quantity)}::int[])`;
    return { unknownLocations };
  });
}

/**
 * Up to `limit` levels after `after` (in key order) whose safety stock follows the default and
 * differs from it, unlocked: the caller locks them and looks again. One pass over the levels in
 * key order, batch after batch, meets each level once.
 */
export function levelsOffDefault(db: Queryable, after: StockLevelKey | null, limit: number): Promise<StockLevelKey[]> {
  return db.$queryRaw<StockLevelKey[]>`
    SELECT level.sku, level.location_id AS "locationId"
      FROM stock_level level
     WHERE NOT level.safety_stock_explicit
       AND (level.sku, level.location_id) > (${after?.sku ?? ''}, ${after?.locationId ?? ''})
       AND level.safety_stock <> ${defaultSafetyStockOf(Prisma.sql`level.sku`, Prisma.sql`level.location_id`)}
     ORDER BY level.sku, level.location_id
     LIMIT ${limit}`;
}

/** The default safety stock of each of the levels `keys`, in their order (whether they follow it or not). */
export async function defaultSafetyStocks(db: Queryable, keys: readonly StockLevelKey[]): Promise<number[]> {
  const rows = await db.$queryRaw<{ quantity: number }[]>`
    SELECT ${defaultSafetyStockOf(Prisma.sql`k.sku`, Prisma.sql`k.location_id`)} AS quantity
      FROM unnest(${keys.map((key) => key.sku)}::text[], ${keys.map((key) => key.locationId)}::text[]) WITH ORDINALITY AS k(sku, location_id, n)
     ORDER BY k.n`;
  return rows.map((row) => row.quantity);
}
