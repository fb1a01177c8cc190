// A process that applies reconciliation holds with a TransactionalConsumer, for tests that kill
// it mid-stream. Reads DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX and CONSUMER_NAME; inserts one
// row into applied_hold (a table of the test's own) per hold applied; prints `committed <cursor>`
// after each commit.
import { holdPlaced } from '../../platform/contracts/events.ts';
import { connectDatabase } from '../../platform/database/database.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { TransactionalConsumer } from '../../platform/events/transactionalConsumer.ts';
import { createLogger } from '../../platform/logger.ts';
import { connectRedis } from '../../platform/redis.ts';

const db = await connectDatabase({ kind: 'postgres', url: process.env.DATABASE_URL!, poolSize: 2 });
const redis = connectRedis(process.env.REDIS_URL!, process.env.REDIS_KEY_PREFIX);
let lastCursor = '';
const consumer = new TransactionalConsumer(db.prisma, new RedisEventBus(redis, { blockMs: 200 }), {
  name: process.env.CONSUMER_NAME!,
  stream: holdPlaced.stream,
  contracts: [holdPlaced],
  apply: async (tx, events) => {
    // Slow enough that a kill lands while a batch is being applied.
    await tx.$executeRaw`SELECT pg_sleep(0.02)`;
    await tx.$executeRaw`INSERT INTO applied_hold (hold_id) SELECT unnest(${events.map((event) => (event.payload as { holdId: string }).holdId)}::text[])`;
    lastCursor = events.at(-1)!.cursor;
  },
  onCommitted: () => console.log(`committed ${lastCursor}`),
  logger: createLogger('error'),
});
consumer.start();
process.once('SIGTERM', () => void consumer.stop().then(() => process.exit(0)));
