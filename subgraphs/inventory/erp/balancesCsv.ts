import { BalanceCollector, toErpBalance, type ErpBalance, type RejectedBalance } from './erpBalance.ts';

const REQUIRED_COLUMNS = ['sku', 'location', 'subinventory', 'on_hand'];
const KNOWN_COLUMNS = new Set([...REQUIRED_COLUMNS, 'lot']);

/**
 * Parses the on-hand balances operators upload by hand: a header row naming the columns
 * `sku,location,subinventory,lot,on_hand` (any case, any order, `lot` optional, other columns
 * ignored), then one balance per row, in RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF,
 * a UTF-8 BOM). `location` is a Stockgraph location id.
 *
 * A header without the required columns is a TypeError naming them, because no row can be read.
 * Every bad row is reported at once in `rejected`, with the line it starts on; blank rows are
 * skipped.
 */
export function parseBalancesCsv(text: string, asOf: Date): { balances: ErpBalance[]; rejected: RejectedBalance[] } {
  const records = readCsvRecords(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const header = records.next();
  if (header.done) throw new TypeError(`Balances CSV has no header row; it needs the columns ${REQUIRED_COLUMNS.join(', ')}`);
  if (header.value.problem) throw new TypeError(`Balances CSV header row is malformed: ${header.value.problem}`);
  const columns = columnIndexes(header.value.fields);

  const collector = new BalanceCollector('line');
  for (const { line, fields, problem } of records) {
    if (problem) {
      collector.reject(line, problem);
      continue;
    }
    if (fields.every((field) => field.trim() === '')) continue;
    if (fields.length !== header.value.fields.length) {
      collector.reject(line, `has ${fields.length} fields, the header has ${header.value.fields.length}`);
      continue;
    }
    const column = (name: string) => [name, fields[columns.get(name) ?? -1]] as const;
    collector.add(line, toErpBalance({
      sku: column('sku'),
      locationId: column('location'),
      subinventory: column('subinventory'),
      lot: column('lot'),
      onHand: column('on_hand'),
    }, asOf));
  }
  return { balances: collector.balances, rejected: collector.rejected };
}

/** Where each known column sits; a TypeError when a required one is missing or any is named twice. */
function columnIndexes(names: readonly string[]): ReadonlyMap<string, number> {
  const indexes = new Map<string, number>();
  names.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    if (!KNOWN_COLUMNS.has(name)) return;
    if (indexes.has(name)) throw new TypeError(`Balances CSV header names the column ${name} twice`);
    indexes.set(name, index);
  });
  const missing = REQUIRED_COLUMNS.filter((name) => !indexes.has(name));
  if (missing.length) {
    throw new TypeError(`Balances CSV header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${names.join(', ')})`);
  }
  return indexes;
}

interface CsvRecord {
  /** 1-based line the record starts on; a quoted field may carry it over several lines. */
  readonly line: number;
  readonly fields: string[];
  /** Why the record could not be read; the rest of its line is skipped. */
  readonly problem?: string;
}

/** RFC 4180 records. Line ends are CRLF, LF or a lone CR; a final line end is optional. */
function* readCsvRecords(text: string): Generator<CsvRecord> {
  let position = 0;
  let line = 1;
  const lineEndAt = (at: number) => text[at] === '\n' || text[at] === '\r';
  const skipLineEnd = () => {
    if (text[position] === '\r') position++;
    if (text[position] === '\n') position++;
    line++;
  };

  while (position < text.length) {
    const start = line;
    const fields: string[] = [];
    let problem: string | undefined;
    for (;;) {
      const fieldNumber = fields.length + 1;
      let field = '';
      if (text[position] === '"') {
        const quotedFrom = line;
        let closed = false;
        position++;
        while (position < text.length) {
          const char = text[position]!;
          if (char === '"') {
            if (text[position + 1] === '"') {
              field += '"';
              position += 2;
              continue;
            }
            position++;
            closed = true;
            break;
          }
          if (char === '\n' || (char === '\r' && text[position + 1] !== '\n')) line++;
          field += char;
          position++;
        }
        if (!closed) problem = `field ${fieldNumber} opens a quote on line ${quotedFrom} that is never closed`;
        else if (position < text.length && text[position] !== ',' && !lineEndAt(position)) {
          problem = `field ${fieldNumber} has text after its closing quote`;
        }
      } else {
        while (position < text.length && text[position] !== ',' && !lineEndAt(position)) {
          if (text[position] === '"') problem ??= `field ${fieldNumber} has a quote but is not quoted (write "" inside a quoted field)`;
          field += text[position];
          position++;
        }
      }
      fields.push(field);
      if (problem) {
        while (position < text.length && !lineEndAt(position)) position++;
        if (position < text.length) skipLineEnd();
        break;
      }
      if (text[position] === ',') {
        position++;
        continue;
      }
      if (position < text.length) skipLineEnd();
      break;
    }
    yield problem ? { line: start, fields, problem } : { line: start, fields };
  }
}
