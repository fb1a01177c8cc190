-- No query reads warehouse confirmations by order reference (unappliedConfirmations reads them by
-- outcome): the index only cost every confirmation received one more entry to write.
DROP INDEX "warehouse_confirmation_order_reference_idx";
