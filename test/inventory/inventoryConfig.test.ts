import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { readInventoryConfig } from '../../subgraphs/inventory/config.ts';
import { EXAMPLE_MAPPINGS_DIR } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import { useCleanup } from '../support/cleanup.ts';

const erp = { ERP_BASE_URL: 'https://erp.example.com', ERP_ORGANIZATIONS: 'ATL=DC-01,DFW=DC-02' };

describe('inventory configuration: ERP balances', () => {
  it('neither takes uploads nor pulls the ERP when nothing is configured', () => {
    const config = readInventoryConfig({});

    assert.equal(config.erpImportToken, null);
    assert.equal(config.erpPull, null);
  });

  it('takes the upload token as given', () => {
    assert.equal(readInventoryConfig({ ERP_IMPORT_TOKEN: 'k7Qd93-xv2LmZp41' }).erpImportToken, 'k7Qd93-xv2LmZp41');
  });

  it('refuses a short upload token without printing it', () => {
    assert.throws(() => readInventoryConfig({ ERP_IMPORT_TOKEN: 'secret' }), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.variable, 'ERP_IMPORT_TOKEN');
      assert.match(error.message, /must be at least 16 characters/);
      assert.doesNotMatch(error.message, /secret"/);
      return true;
    });
  });

  it('refuses every internal order-stock call unless INTERNAL_API_TOKEN is set, and takes it as given', () => {
    assert.equal(readInventoryConfig({}).internalApiToken, null);
    assert.equal(readInventoryConfig({ INTERNAL_API_TOKEN: 'orders-to-inventory-01' }).internalApiToken, 'orders-to-inventory-01');
  });

  it('refuses a short internal API token without printing it', () => {
    assert.throws(() => readInventoryConfig({ INTERNAL_API_TOKEN: 'sh0rt-s3cret' }), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.variable, 'INTERNAL_API_TOKEN');
      assert.match(error.message, /must be at least 16 characters/);
      assert.doesNotMatch(error.message, /sh0rt-s3cret/);
      return true;
    });
  });

  it('pulls hourly by default, mapping each organization to its location', () => {
    const { erpPull } = readInventoryConfig(erp);

    assert.deepEqual(erpPull, {
      baseUrl: 'https://erp.example.com',
      organizationLocations: { ATL: 'DC-01', DFW: 'DC-02' },
      intervalMs: 3_600_000,
    });
    assert.ok(Object.isFrozen(erpPull) && Object.isFrozen(erpPull.organizationLocations));
  });

  it('takes the interval in seconds and both credentials', () => {
    const { erpPull } = readInventoryConfig({ ...erp, ERP_PULL_INTERVAL_SECONDS: '900', ERP_USERNAME: 'stockgraph', ERP_PASSWORD: 's3cret' });

    assert.equal(erpPull?.intervalMs, 900_000);
    assert.equal(erpPull?.username, 'stockgraph');
    assert.equal(erpPull?.password, 's3cret');
  });

  const invalid: [variable: string, when: string, env: Record<string, string>, message: RegExp][] = [
    ['ERP_ORGANIZATIONS', 'ERP_BASE_URL is set without it', { ERP_BASE_URL: erp.ERP_BASE_URL }, /ERP_ORGANIZATIONS is required when ERP_BASE_URL is set/],
    ['ERP_BASE_URL', 'ERP_ORGANIZATIONS is set without it', { ERP_ORGANIZATIONS: erp.ERP_ORGANIZATIONS }, /ERP_BASE_URL is required when ERP_ORGANIZATIONS is set/],
    ['ERP_BASE_URL', 'it is not http(s)', { ...erp, ERP_BASE_URL: 'ftp://erp.example.com' }, /ERP_BASE_URL must be a URL starting with http:\/\/ or https:\/\//],
    ['ERP_ORGANIZATIONS', 'it is not code=location pairs', { ...erp, ERP_ORGANIZATIONS: 'ATL:DC-01' }, /ERP_ORGANIZATIONS must look like ORG1=DC-01,ORG2=DC-02 \(got "ATL:DC-01"\)/],
    ['ERP_ORGANIZATIONS', 'it maps an organization twice', { ...erp, ERP_ORGANIZATIONS: 'ATL=DC-01,ATL=DC-02' }, /ERP_ORGANIZATIONS names organization ATL twice/],
    ['ERP_ORGANIZATIONS', 'it maps a location to two organizations', { ...erp, ERP_ORGANIZATIONS: 'ATL=DC-01,PHX=DC-01' }, /ERP_ORGANIZATIONS maps location DC-01 to two organizations, ATL and PHX/],
    ['ERP_PULL_INTERVAL_SECONDS', 'it is 0', { ...erp, ERP_PULL_INTERVAL_SECONDS: '0' }, /ERP_PULL_INTERVAL_SECONDS must be at least 1/],
    ['ERP_PASSWORD', 'only ERP_USERNAME is set', { ...erp, ERP_USERNAME: 'stockgraph' }, /ERP_PASSWORD is required when ERP_USERNAME is set/],
    ['ERP_USERNAME', 'only ERP_PASSWORD is set', { ...erp, ERP_PASSWORD: 's3cret' }, /ERP_USERNAME is required when ERP_PASSWORD is set/],
  ];
  for (const [variable, when, env, message] of invalid) {
    it(`names ${variable} when ${when}`, () => {
      assert.throws(
        () => readInventoryConfig(env),
        (error: unknown) => error instanceof ConfigurationError && error.variable === variable && message.test(error.message),
      );
    });
  }
});

describe('inventory configuration: WMS source mappings', () => {
  const cleanup = useCleanup();
  const acme = JSON.parse(readFileSync(join(EXAMPLE_MAPPINGS_DIR, 'acme-wms.json'), 'utf8')) as Record<string, unknown>;
  /** A directory holding `files` (name -> JSON value), removed after the test. */
  const mappingsDir = (files: Record<string, unknown>) => {
    const dir = mkdtempSync(join(tmpdir(), 'stockgraph-mappings-'));
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
    return dir;
  };
  const refusal = (dir: string, message: RegExp) => (error: unknown) =>
    error instanceof ConfigurationError && error.variable === 'WMS_MAPPINGS_DIR' && error.message.includes(dir) && message.test(error.message);

  it('maps the two example sources by default', () => {
    assert.deepEqual(readInventoryConfig({}).sourceMappings.map((mapping) => mapping.source), ['acme-wms', 'northwind-3pl']);
  });

  it('takes every mapping in WMS_MAPPINGS_DIR instead', () => {
    const dir = mappingsDir({ 'globex.json': { ...acme, source: 'globex-wms' }, 'initech.json': { ...acme, source: 'initech-wms' }, 'notes.txt': 'not a mapping' });

    assert.deepEqual(readInventoryConfig({ WMS_MAPPINGS_DIR: dir }).sourceMappings.map((mapping) => mapping.source), ['globex-wms', 'initech-wms']);
  });

  it('refuses a directory that is missing or empty, a file that is not a valid mapping, and a source mapped twice', () => {
    const missing = join(tmpdir(), 'stockgraph-no-such-mappings');
    const empty = mappingsDir({});
    const unparsable = mappingsDir({ 'broken.json': '{ "source": ' });
    const invalid = mappingsDir({ 'partial.json': { ...acme, fields: undefined } });
    const twice = mappingsDir({ 'a.json': acme, 'b.json': acme });

    assert.throws(() => readInventoryConfig({ WMS_MAPPINGS_DIR: missing }), refusal(missing, /cannot be read/));
    assert.throws(() => readInventoryConfig({ WMS_MAPPINGS_DIR: empty }), refusal(empty, /holds no mapping/));
    assert.throws(() => readInventoryConfig({ WMS_MAPPINGS_DIR: unparsable }), refusal(unparsable, /broken\.json could not be read/));
    assert.throws(() => readInventoryConfig({ WMS_MAPPINGS_DIR: invalid }), refusal(invalid, /partial\.json is invalid/));
    assert.throws(() => readInventoryConfig({ WMS_MAPPINGS_DIR: twice }), refusal(twice, /Two mappings .* are for source acme-wms/));
  });
});

describe('inventory configuration: safety stock defaults', () => {
  it('has no defaults when SAFETY_STOCK_DEFAULTS is unset: levels without a set value keep back nothing', () => {
    assert.deepEqual(readInventoryConfig({}).safetyStockDefaults, []);
  });

  it('reads one rule per location (or *) and item class (or *)', () => {
    const { safetyStockDefaults } = readInventoryConfig({ SAFETY_STOCK_DEFAULTS: '{"*": {"A": 10, "*": 2}, "DC-01": {"A": 25}}' });

    assert.deepEqual(safetyStockDefaults, [
      { locationId: '*', itemClass: 'A', quantity: 10 },
      { locationId: '*', itemClass: '*', quantity: 2 },
      { locationId: 'DC-01', itemClass: 'A', quantity: 25 },
    ]);
    assert.ok(Object.isFrozen(safetyStockDefaults) && safetyStockDefaults.every(Object.isFrozen));
  });

  for (const [value, problem] of [
    ['{"DC-01": {"A": 5}', /must be JSON/],
    ['[5]', /\(the whole value\): /],
    ['{"DC-01": 5}', /DC-01: /],
    ['{"DC-01": {"A": -1}}', /DC-01\.A: must be at least 0/],
    ['{"DC-01": {"A": 1.5}}', /DC-01\.A: must be a whole number of units/],
    ['{"DC-01": {"A": 2147483648}}', /DC-01\.A: must be at most 2147483647/],
    ['{"": {"A": 1}}', /\(the whole value\): names an empty location id \(\* stands for any location\)/],
    ['{"DC-01": {"": 1}}', /DC-01: names an empty item class \(\* stands for any class\)/],
  ] as const) {
    it(`refuses ${value}, naming the variable and where the problem is`, () => {
      assert.throws(() => readInventoryConfig({ SAFETY_STOCK_DEFAULTS: value }), (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.equal(error.variable, 'SAFETY_STOCK_DEFAULTS');
        assert.match(error.message, problem);
        return true;
      });
    });
  }
});
