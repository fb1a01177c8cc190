import { readFileSync } from 'node:fs';
import { validateSourceMapping, type SourceMapping } from '../domain/events/sourceMapping.ts';

const EXAMPLE_MAPPING_FILES = [
  new URL('./acme-wms.json', import.meta.url),
  new URL('./northwind-3pl.json', import.meta.url),
] as const;

/**
 * The two example WMS mappings (acme-wms, flat snake_case; northwind-3pl, nested camelCase).
 * Throws when a file cannot be read or parsed or is not a valid mapping, listing every problem.
 */
export function loadExampleMappings(): SourceMapping[] {
  return EXAMPLE_MAPPING_FILES.map((url) => {
    const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(url, 'utf8'));
    } catch (error) {
      throw new Error(`Mapping ${name} could not be read`, { cause: error });
    }
    const problems = validateSourceMapping(value);
    if (problems.length > 0) throw new Error(`Mapping ${name} is invalid:\n  ${problems.join('\n  ')}`);
    return value as SourceMapping;
  });
}
