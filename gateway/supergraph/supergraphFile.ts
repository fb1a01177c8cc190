import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { SupergraphManager } from '@apollo/gateway';
import type { Logger } from '../../platform/logger.ts';
import { executionSupergraph } from './executionSupergraph.ts';

/**
 * The supergraph from a file, reloaded when the file changes (a deploy writes a newly composed
 * one): the gateway swaps its schema and query planner in place, so that requests and
 * subscriptions in flight carry on. A supergraph the gateway refuses leaves the old one serving.
 * The gateway is handed its executionSupergraph; `onLoad` receives each supergraph it accepted
 * as composed, access directives and all.
 */
export function supergraphFromFile(path: string, logger: Logger, { pollIntervalMs = 1_000, onLoad }: { pollIntervalMs?: number | undefined; onLoad(supergraphSdl: string): void }): SupergraphManager {
  return {
    initialize: async ({ update }) => {
      let current = readFileSync(path, 'utf8');
      onLoad(current);
      const reload = () => {
        let next: string;
        try {
          next = readFileSync(path, 'utf8');
        } catch (error) {
          return logger.error({ err: error, path }, 'cannot read the supergraph; keeping the current one');
        }
        if (next === current) return;
        try {
          update(executionSupergraph(next));
          onLoad(next);
          current = next;
          logger.info({ path }, 'supergraph reloaded');
        } catch (error) {
          logger.error({ err: error, path }, 'the new supergraph was refused; keeping the current one');
        }
      };
      // Polling rather than fs.watch: it also sees a file replaced by a rename, on every platform.
      watchFile(path, { interval: pollIntervalMs }, reload);
      return { supergraphSdl: executionSupergraph(current), cleanup: async () => unwatchFile(path, reload) };
    },
  };
}
