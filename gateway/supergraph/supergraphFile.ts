import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { SupergraphManager } from '@apollo/gateway';
import type { Logger } from '../../platform/logger.ts';
import { executionSupergraph } from './executionSupergraph.ts';
import { routeSubgraphs, type SubgraphUrlOverrides, type SubgraphUrls } from './subgraphUrls.ts';

export interface SupergraphFileOptions {
  /** How often the file is looked at for changes, in milliseconds. */
  readonly pollIntervalMs?: number | undefined;
  /** URLs that replace the supergraph's own (see routeSubgraphs). */
  readonly subgraphUrls?: SubgraphUrlOverrides | undefined;
  /** Receives each supergraph the gateway accepted, access directives and all, and where its subgraphs are reached. */
  onLoad(supergraphSdl: string, subgraphUrls: SubgraphUrls): void;
}

/**
 * The supergraph from a file, reloaded when the file changes (a deploy writes a newly composed
 * one): the gateway swaps its schema and query planner in place, so that requests and
 * subscriptions in flight carry on. A supergraph the gateway refuses, or whose subgraphs cannot
 * all be given a URL, leaves the old one serving. The gateway is handed its executionSupergraph,
 * with each subgraph's URL where it is to be reached.
 */
export function supergraphFromFile(path: string, logger: Logger, { pollIntervalMs = 1_000, subgraphUrls = {}, onLoad }: SupergraphFileOptions): SupergraphManager {
  return {
    initialize: async ({ update }) => {
      let current = readFileSync(path, 'utf8');
      const first = routeSubgraphs(current, subgraphUrls);
      onLoad(first.supergraphSdl, first.urls);
      const reload = () => {
        let next: string;
        try {
          next = readFileSync(path, 'utf8');
        } catch (error) {
          return logger.error({ err: error, path }, 'cannot read the supergraph; keeping the current one');
        }
        if (next === current) return;
        try {
          const routed = routeSubgraphs(next, subgraphUrls);
          update(executionSupergraph(routed.supergraphSdl));
          onLoad(routed.supergraphSdl, routed.urls);
          current = next;
          logger.info({ path }, 'supergraph reloaded');
        } catch (error) {
          logger.error({ err: error, path }, 'the new supergraph was refused; keeping the current one');
        }
      };
      // Polling rather than fs.watch: it also sees a file replaced by a rename, on every platform.
      watchFile(path, { interval: pollIntervalMs }, reload);
      return { supergraphSdl: executionSupergraph(first.supergraphSdl), cleanup: async () => unwatchFile(path, reload) };
    },
  };
}
