/** Error codes the inventory subgraph puts in `extensions.code`, beside the common ones. */
export enum InventoryErrorCode {
  DEAD_LETTER_ALREADY_REPLAYED = 'DEAD_LETTER_ALREADY_REPLAYED',
}
