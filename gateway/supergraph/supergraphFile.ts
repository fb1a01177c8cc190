import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { SupergraphManager } from '@apollo/gateway';
import type { Logger } from '../../platform/logger.ts';

/**
 * The supergraph from a file, reloaded when the file changes (a deploy writes a newly composed
 * one): the gateway swaps its schema and query planner in place, so that requests and
 * subscriptions in flight carry on. A supergraph the gateway refuses leaves the old one serving.
 */
export function supergraphFromFile(path: string, logger: Logger, pollIntervalMs = 1_000): SupergraphManager {
  return {
    initialize: async ({ update }) => {
      let current = readFileSync(path, 'utf8');
      const reload = () => {
        let next: string;
        try {
          next = readFileSync(path, 'utf8');
        } catch (error) {
          return logger.error({ err: error, path }, 'cannot read the supergraph; keeping the current one');
        }
        if (next === current) return;
        try {
          update(next);
          current = next;
          logger.info({ path }, 'supergraph reloaded');
        } catch (error) {
          logger.error({ err: error, path }, 'the new supergraph was refused; keeping the current one');
        }
      };
      // Polling rather than fs.watch: it also sees a file replaced by a rename, on every platform.
      watchFile(path, { interval: pollIntervalMs }, reload);
      return { supergraphSdl: current, cleanup: async () => unwatchFile(path, reload) };
    },
  };
}
