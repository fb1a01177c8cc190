/** The subgraphs behind the gateway, by the name the supergraph knows them by. */
export const SUBGRAPH_NAMES = ['inventory', 'orders', 'reconciliation'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** Default ports; each can be moved with `<NAME>_PORT`. */
export const DEFAULT_PORTS: Readonly<Record<SubgraphName | 'gateway', number>> = {
  gateway: 4000,
  inventory: 4001,
  orders: 4002,
  reconciliation: 4003,
};

/** `inventory` -> `INVENTORY`, the prefix of that service's variables. */
export const variablePrefix = (name: SubgraphName | 'gateway') => name.toUpperCase();
