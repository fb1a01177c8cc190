/** Error codes the inventory subgraph puts in `extensions.code`, beside the common ones. */
export enum InventoryErrorCode {
  DEAD_LETTER_ALREADY_REPLAYED = 'DEAD_LETTER_ALREADY_REPLAYED',
  TOO_MANY_SKUS = 'TOO_MANY_SKUS',
  UNKNOWN_SKU = 'UNKNOWN_SKU',
  UNKNOWN_LOCATION = 'UNKNOWN_LOCATION',
}
