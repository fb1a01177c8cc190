-- An order is rewritten by every confirmation of its lines (its version and updated_at), each
-- line by every pick, pack, ship or return of it, and inventory's allocation of the line by the
-- same picks and ships. As for the stock tables, room kept free on each page lets those updates,
-- which change no indexed column, stay heap-only instead of adding an entry to every index.
ALTER TABLE "sales_order" SET (fillfactor = 70);
ALTER TABLE "order_line" SET (fillfactor = 70);
ALTER TABLE "order_allocation" SET (fillfactor = 70);
