-- CreateEnum
CREATE TYPE "ReservationStatus" AS ENUM ('ACTIVE', 'CONFIRMED', 'RELEASED', 'EXPIRED');

-- CreateEnum
CREATE TYPE "TransferStatus" AS ENUM ('COMPLETED', 'SHIPPED', 'PARTIALLY_RECEIVED', 'RECEIVED');

-- CreateEnum
CREATE TYPE "SerialStatus" AS ENUM ('IN_STOCK', 'IN_TRANSIT');

-- CreateTable
CREATE TABLE "reservation" (
    "id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "channel" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "status" "ReservationStatus" NOT NULL DEFAULT 'ACTIVE',
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reservation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reservation_line" (
    "reservation_id" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "subinventory" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "reservation_line_pkey" PRIMARY KEY ("reservation_id","location_id")
);

-- CreateTable
CREATE TABLE "transfer" (
    "id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "from_location_id" TEXT NOT NULL,
    "from_subinventory" TEXT NOT NULL,
    "to_location_id" TEXT NOT NULL,
    "to_subinventory" TEXT NOT NULL,
    "status" "TransferStatus" NOT NULL,
    "expected_arrival_at" TIMESTAMPTZ(3),
    "received_quantity" INTEGER NOT NULL DEFAULT 0,
    "short_quantity" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "received_at" TIMESTAMPTZ(3),

    CONSTRAINT "transfer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transfer_line" (
    "transfer_id" TEXT NOT NULL,
    "lot" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "received_quantity" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "transfer_line_pkey" PRIMARY KEY ("transfer_id","lot")
);

-- CreateTable
CREATE TABLE "transfer_serial" (
    "transfer_id" TEXT NOT NULL,
    "serial" TEXT NOT NULL,
    "received" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "transfer_serial_pkey" PRIMARY KEY ("transfer_id","serial")
);

-- CreateTable
CREATE TABLE "serial_number" (
    "sku" TEXT NOT NULL,
    "serial" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "subinventory" TEXT NOT NULL,
    "lot" TEXT NOT NULL DEFAULT '',
    "status" "SerialStatus" NOT NULL DEFAULT 'IN_STOCK',
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "serial_number_pkey" PRIMARY KEY ("sku","serial")
);

-- CreateIndex
CREATE UNIQUE INDEX "reservation_idempotency_key_key" ON "reservation"("idempotency_key");

-- CreateIndex
CREATE INDEX "reservation_status_expires_at_idx" ON "reservation"("status", "expires_at");

-- CreateIndex
CREATE INDEX "reservation_reference_idx" ON "reservation"("reference");

-- CreateIndex
CREATE UNIQUE INDEX "transfer_idempotency_key_key" ON "transfer"("idempotency_key");

-- CreateIndex
CREATE INDEX "transfer_to_location_id_status_idx" ON "transfer"("to_location_id", "status");

-- CreateIndex
CREATE INDEX "serial_number_sku_location_id_subinventory_idx" ON "serial_number"("sku", "location_id", "subinventory");

-- AddForeignKey
ALTER TABLE "reservation_line" ADD CONSTRAINT "reservation_line_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfer_line" ADD CONSTRAINT "transfer_line_transfer_id_fkey" FOREIGN KEY ("transfer_id") REFERENCES "transfer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfer_serial" ADD CONSTRAINT "transfer_serial_transfer_id_fkey" FOREIGN KEY ("transfer_id") REFERENCES "transfer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

