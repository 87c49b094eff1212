#!/usr/bin/env bash
# Regenerates the generated samples with `orderflow generate` (deterministic: the same binary
# version writes the same bytes). The hand-made files in broken/ are kept as committed, except
# broken/truncated.csv.gz, which is cut from legacy-orders.csv.gz here.
#
#   samples/make-samples.sh                 # builds orderflow (debug) if needed
#   ORDERFLOW=.build/release/orderflow samples/make-samples.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${ORDERFLOW:-}" ]]; then
    swift build --product orderflow >&2
    ORDERFLOW="$(swift build --show-bin-path)/orderflow"
fi
generate() { "$ORDERFLOW" generate orders "$@"; }

# 300 orders from the legacy order system, in both canonical formats.
generate --orders 300 --seed 2026 --format csv    -o samples/legacy-orders.csv.gz
generate --orders 300 --seed 2026 --format ndjson -o samples/legacy-orders.ndjson.gz
# The same system a while later: ~10% changed, ~2% gone (a mirror run deletes them), 10 new.
generate --orders 300 --seed 2026 --format csv --change-rate 0.1 --drop-rate 0.02 --new-orders 10 \
    -o samples/legacy-orders-later.csv.gz
# Another system's export with its own header names (OrderNo,Cust,State,…) and refs SO-040001….
generate --orders 200 --seed 1987 --prefix SO --start-ref 40001 --format legacy-erp-csv \
    -o samples/legacy-erp.csv.gz

# Carrier-tracking feeds for the shipments of legacy-orders-later.csv.gz (the state the demo
# leaves the legacy orders in; same --orders, --seed and snapshot rates),
# each in its carrier's export shape, read by pipelines/tracking-<name>.yaml. A few events name
# unknown tracking numbers or carry unmapped codes: the runs reject exactly those.
mkdir -p samples/tracking
track() { "$ORDERFLOW" generate tracking --orders 300 --seed 2026 --change-rate 0.1 --drop-rate 0.02 --new-orders 10 "$@"; }
track --style csv   --events-per-shipment 2 --attach-rate 0.3 --unknown-rate 0.03 --unknown-code-rate 0.03 -o samples/tracking/aftership.csv.gz
track --style fedex --events-per-shipment 3 --unknown-rate 0.05 --unknown-code-rate 0.05 -o samples/tracking/fedex.csv.gz
track --style ups   --events-per-shipment 3 --unknown-rate 0.05 --unknown-code-rate 0.05 -o samples/tracking/ups.csv.gz
track --style dhl   --events-per-shipment 6 --unknown-rate 0.05 --unknown-code-rate 0.05 -o samples/tracking/dhl.ndjson.gz
track --style usps  --events-per-shipment 3 --unknown-rate 0.05 --unknown-code-rate 0.05 -o samples/tracking/usps.tsv.gz

# A gzip cut in the middle, as an interrupted transfer leaves it.
size=$(wc -c < samples/legacy-orders.csv.gz)
head -c $((size / 2)) samples/legacy-orders.csv.gz > samples/broken/truncated.csv.gz
echo "samples regenerated" >&2
