import type { ApolloServer, ApolloServerOptions, BaseContext } from '@apollo/server';
import {
  closeServer,
  createServiceHttpServer,
  listen,
  type Admit,
  type HttpRoute,
  type ReadinessCheck,
  type RunningService,
  type ServiceHttpServerOptions,
} from '../http/serviceHttpServer.ts';
import type { CorsPolicy } from '../http/cors.ts';
import type { Logger } from '../logger.ts';
import { metricsRoute } from '../observability/metricsRoute.ts';
import type { RequestObserver } from '../observability/requestObserver.ts';
import { maskUnexpectedErrors } from './errors.ts';

/** The Apollo Server options every Stockgraph service shares. */
export function apolloServerDefaults(logger: Logger) {
  return {
    formatError: maskUnexpectedErrors(logger),
    includeStacktraceInErrorResponses: false,
    // runService owns shutdown; Apollo's own handler would re-raise the signal and skip ours.
    stopOnTerminationSignals: false,
  } satisfies Partial<ApolloServerOptions<BaseContext>>;
}

export interface ServeOptions<Context extends BaseContext> {
  /** How the service names itself in logs ("inventory subgraph", "gateway"). */
  readonly name: string;
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly admit: Admit<Context>;
  readonly cors?: CorsPolicy;
  readonly readinessChecks: ServiceHttpServerOptions<Context>['readinessChecks'];
  readonly routes?: readonly HttpRoute[];
  readonly responseBody?: ServiceHttpServerOptions<Context>['responseBody'];
  readonly maxBodyBytes?: number;
  /** Observes every request, and serves the service's metrics on /metrics; its `plugin` must be among `apollo`'s. */
  readonly observer: RequestObserver;
}

/** Starts `apollo` and serves it over HTTP; stopping the returned service stops both. */
export async function serveApollo<Context extends BaseContext>(
  apollo: ApolloServer<Context>,
  { name, port, host, logger, admit, cors, readinessChecks, routes = [], responseBody, maxBodyBytes, observer }: ServeOptions<Context>,
): Promise<RunningService> {
  await apollo.start();
  const httpServer = createServiceHttpServer({
    name,
    apollo,
    admit,
    cors,
    readinessChecks,
    routes: [metricsRoute(observer.metrics, observer.settings.metricsToken), ...routes],
    responseBody,
    maxBodyBytes,
    observer,
  });
  const url = await listen(httpServer, port, host);
  logger.info({ url: `${url}/graphql` }, `${name} listening`);
  return {
    url,
    httpServer,
    stop: async () => {
      await closeServer(httpServer);
      await apollo.stop();
    },
  };
}
