// Orders through the gateway, as a sales channel or an operator places and moves them.
import { graphql, type GraphQLResponse } from './graphql.ts';

export const ORDER_FIELDS = `
  id reference channel status open releasePending cancelReason returnReason
  lines { lineNumber requestedLine item { sku } location { id } quantity reservationId picked packed shipped delivered
          returnRequested returnReceived restocked scrapped }
  timeline { version status previousStatus cause causeId actor at }`;

export interface OrderView {
  id: string;
  reference: string;
  channel: string;
  status: string;
  open: boolean;
  releasePending: boolean;
  cancelReason: string | null;
  returnReason: string | null;
  lines: {
    lineNumber: number; requestedLine: number; item: { sku: string }; location: { id: string }; quantity: number; reservationId: string | null;
    picked: number; packed: number; shipped: number; delivered: number; returnRequested: number; returnReceived: number; restocked: number; scrapped: number;
  }[];
  timeline: { version: number; status: string; previousStatus: string | null; cause: string; causeId: string; actor: string; at: string }[];
}

export interface PlaceOrderLine {
  sku: string;
  quantity: number;
  locationId?: string | null;
  reservationId?: string | null;
}

/** The GraphQL client side of orders, against `gatewayUrl`. */
export function ordersApi(gatewayUrl: string, headers: Record<string, string> = {}) {
  const call = <Data>(query: string, variables: Record<string, unknown> = {}) => graphql<Data>(gatewayUrl, query, variables, headers);
  return {
    place: (input: { reference: string; channel?: string; lines: PlaceOrderLine[]; idempotencyKey?: string }) =>
      call<{ placeOrder: OrderView }>(`mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`, {
        input: { channel: 'WEB', idempotencyKey: `key-${input.reference}`, ...input },
      }),
    order: async (id: string) => (await call<{ order: OrderView | null }>(`query ($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id })).data?.order ?? null,
    byReference: async (reference: string) =>
      (await call<{ orderByReference: OrderView | null }>(`query ($reference: String!) { orderByReference(reference: $reference) { ${ORDER_FIELDS} } }`, { reference })).data?.orderByReference ?? null,
    release: (id: string) => call<{ releaseOrder: OrderView }>(`mutation ($id: ID!) { releaseOrder(id: $id) { ${ORDER_FIELDS} } }`, { id }),
    cancel: (id: string, reason = 'customer asked') => call<{ cancelOrder: OrderView }>(`mutation ($id: ID!, $reason: String!) { cancelOrder(id: $id, reason: $reason) { ${ORDER_FIELDS} } }`, { id, reason }),
    requestReturn: (orderId: string, lines: { lineNumber: number; quantity: number }[], reason = 'wrong size') =>
      call<{ requestReturn: OrderView }>(`mutation ($input: RequestReturnInput!) { requestReturn(input: $input) { ${ORDER_FIELDS} } }`, { input: { orderId, lines, reason } }),
    inspect: (orderId: string, lines: { lineNumber: number; restocked?: number; scrapped?: number }[]) =>
      call<{ inspectReturn: OrderView }>(`mutation ($input: InspectReturnInput!) { inspectReturn(input: $input) { ${ORDER_FIELDS} } }`, { input: { orderId, lines } }),
    stock: async (sku: string, locationId: string) =>
      (await call<{ stockLevel: StockView }>(`query ($sku: ID!, $locationId: ID!) {
        stockLevel(sku: $sku, locationId: $locationId) { onHandWms onHandNonNettable damaged allocated reserved available }
      }`, { sku, locationId })).data!.stockLevel,
    call,
  };
}

export interface StockView {
  onHandWms: number;
  onHandNonNettable: number;
  damaged: number;
  allocated: number;
  reserved: number;
  available: number;
}

/** The error code of a GraphQL answer's first error. */
export const codeOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.code;
