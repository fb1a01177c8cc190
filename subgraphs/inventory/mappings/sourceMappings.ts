import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateSourceMapping, type SourceMapping } from '../domain/events/sourceMapping.ts';

/**
 * The example mappings shipped here, and the default of WMS_MAPPINGS_DIR: acme-wms (flat
 * snake_case) and northwind-3pl (nested camelCase).
 */
export const EXAMPLE_MAPPINGS_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * The WMS source mappings in `dir`: every `*.json` file there, one source each. Throws, naming
 * the file and listing every problem, when one cannot be read or parsed or is not a valid
 * mapping; and when there is none, or two map the same source.
 */
export function loadSourceMappings(dir: string): SourceMapping[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    throw new Error(`${dir} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  if (files.length === 0) throw new Error(`${dir} holds no mapping (*.json)`);
  const mappings = files.map((name) => {
    const file = join(dir, name);
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`Mapping ${file} could not be read: ${(error as Error).message}`, { cause: error });
    }
    const problems = validateSourceMapping(value);
    if (problems.length > 0) throw new Error(`Mapping ${file} is invalid:\n  ${problems.join('\n  ')}`);
    return value as SourceMapping;
  });
  const sources = mappings.map((mapping) => mapping.source);
  const twice = sources.find((source, index) => sources.indexOf(source) !== index);
  if (twice !== undefined) throw new Error(`Two mappings in ${dir} are for source ${twice}`);
  return mappings;
}

/** The example mappings. */
export function loadExampleMappings(): SourceMapping[] {
  return loadSourceMappings(EXAMPLE_MAPPINGS_DIR);
}
