import pg from 'pg';
const pool = new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:5432/stockgraph_bench', max: 4, options: '-c plan_cache_mode=force_custom_plan' });
const sel = `level.sku, level.location_id, level.safety_stock, date_part('epoch', date_trunc('milliseconds', statement_timestamp())), NULL, NULL, NULL, NULL,
  p.subinventory, p.lot, s.nettable, date_part('epoch', lot.expires_at), p.on_hand_wms, p.on_hand_erp, p.allocated, p.reserved,
  p.inbound_in_transit, date_part('epoch', p.inbound_expected_at), p.quality_hold, p.damaged, date_part('epoch', p.wms_updated_at)`;
const V = {
current: `SELECT ${sel} FROM stock_level level
         LEFT JOIN (stock_position p
                    JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
                    LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot)
           ON p.sku = level.sku AND p.location_id = level.location_id AND p.sku = ANY($1::text[])
        WHERE level.sku = ANY($1::text[])`,
lateral: `SELECT ${sel} FROM unnest($1::text[]) AS wanted(sku)
         JOIN stock_level level ON level.sku = wanted.sku
         LEFT JOIN LATERAL (SELECT p.*, s.nettable, lot.expires_at FROM stock_position p
                    JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
                    LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot
                   WHERE p.sku = level.sku AND p.location_id = level.location_id) p ON true
         LEFT JOIN lot ON false  JOIN subinventory s ON false`,
};
V.lateral = `SELECT level.sku, level.location_id, level.safety_stock, date_part('epoch', date_trunc('milliseconds', statement_timestamp())), NULL, NULL, NULL, NULL,
  p.subinventory, p.lot, p.nettable, date_part('epoch', p.expires_at), p.on_hand_wms, p.on_hand_erp, p.allocated, p.reserved,
  p.inbound_in_transit, date_part('epoch', p.inbound_expected_at), p.quality_hold, p.damaged, date_part('epoch', p.wms_updated_at)
  FROM unnest($1::text[]) AS wanted(sku)
  CROSS JOIN LATERAL (
    SELECT level.sku, level.location_id, level.safety_stock FROM stock_level level WHERE level.sku = wanted.sku) level
  LEFT JOIN LATERAL (SELECT p.*, s.nettable, lot.expires_at FROM stock_position p
                    JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
                    LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot
                   WHERE p.sku = wanted.sku) p ON p.location_id = level.location_id`;
V.unnestJoin = `SELECT ${sel} FROM unnest($1::text[]) AS wanted(sku)
         JOIN stock_level level ON level.sku = wanted.sku
         LEFT JOIN (stock_position p
                    JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
                    LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot)
           ON p.sku = level.sku AND p.location_id = level.location_id`;
V.offset0 = `SELECT ${sel} FROM stock_level level
         LEFT JOIN ((SELECT * FROM stock_position WHERE sku = ANY($1::text[]) OFFSET 0) p
                    JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
                    LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot)
           ON p.sku = level.sku AND p.location_id = level.location_id
        WHERE level.sku = ANY($1::text[])`;
delete V.lateral; delete V.unnestJoin; V.split2 = 'x';
function skus(n) { const s = new Set(); while (s.size < n) s.add(1 + Math.floor(Math.random() * 50000)); return [...s].map((n) => `SKU-${String(n).padStart(5, '0')}`); }
async function split2(text, s) {
  const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
  try {
    const r = await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot()');
    await b.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${r[1].rows[0].pg_export_snapshot}'`);
    const half = s.length >> 1;
    const [x, y] = await Promise.all([a.query({ text, values: [s.slice(0, half)], rowMode: 'array' }), b.query({ text, values: [s.slice(half)], rowMode: 'array' })]);
    await Promise.all([a.query('COMMIT'), b.query('COMMIT')]);
    return x.rows.concat(y.rows);
  } finally { a.release(); b.release(); }
}
const check = await Promise.all(Object.values(V).slice(0, 2).map((text) => pool.query({ text, values: [['SKU-00001', 'SKU-00777']], rowMode: 'array' })));
console.log('rows', check.map((r) => r.rows.length));
for (const n of [1000, 1000]) {
  const times = Object.fromEntries(Object.keys(V).map((k) => [k, []]));
  for (let i = 0; i < 25; i++) for (const [k, text] of Object.entries(V)) {
    const t = performance.now(); if (k === 'split2') await split2(V.offset0, skus(n)); else await pool.query({ text, values: [skus(n)], rowMode: 'array' }); if (i >= 5) times[k].push(performance.now() - t);
  }
  for (const [k, t] of Object.entries(times)) { t.sort((a, b) => a - b); console.log(String(n).padStart(5), k.padEnd(10), 'p50', t[t.length >> 1].toFixed(1), 'p90', t[Math.floor(t.length * 0.9)].toFixed(1)); }
}
await pool.end();
