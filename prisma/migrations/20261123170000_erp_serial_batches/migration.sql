-- CreateEnum
CREATE TYPE "ErpPushStatus" AS ENUM ('PENDING', 'SENT', 'FAILED');

-- CreateTable
CREATE TABLE "erp_serial_batch" (
    "reference" TEXT NOT NULL,
    "transfer_id" TEXT NOT NULL,
    "serials" TEXT[],
    "status" "ErpPushStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "erp_transaction_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "erp_serial_batch_pkey" PRIMARY KEY ("reference")
);

-- CreateIndex
CREATE INDEX "erp_serial_batch_status_next_attempt_at_idx" ON "erp_serial_batch"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "erp_serial_batch_transfer_id_idx" ON "erp_serial_batch"("transfer_id");

-- AddForeignKey
ALTER TABLE "erp_serial_batch" ADD CONSTRAINT "erp_serial_batch_transfer_id_fkey" FOREIGN KEY ("transfer_id") REFERENCES "transfer"("id") ON DELETE CASCADE ON UPDATE CASCADE;
