/// One step of the schema, applied once and recorded in `schema_migrations`.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
}

/// The ordered schema history. Append new steps; never edit one that has shipped.
///
/// The SQL is kept distributable (Citus, co-located by order id): every primary key of the
/// order tables includes `order_id`/`id`, and history has no foreign key so it outlives deletes.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "orders, items, events, transitions, runs", sql: """
            CREATE TABLE orders (
                id               uuid PRIMARY KEY,
                source           text NOT NULL,
                external_ref     text,
                customer_id      text NOT NULL,
                status           text NOT NULL CHECK (status IN ('processing', 'shipped', 'in_transit',
                                     'out_for_delivery', 'available_for_pickup', 'failed_attempt', 'exception',
                                     'delivered', 'returned', 'cancelled')),
                currency         char(3),
                tracking_company text,
                tracking_number  text,
                status_event_at  timestamptz,
                created_at       timestamptz NOT NULL,
                updated_at       timestamptz NOT NULL,
                CONSTRAINT orders_source_external_ref_key UNIQUE (source, external_ref)
            );
            CREATE INDEX orders_tracking_idx ON orders (tracking_company, tracking_number)
                WHERE tracking_number IS NOT NULL;
            CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at);
            CREATE INDEX orders_created_idx ON orders (created_at);

            CREATE TABLE order_items (
                order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
                line_no    integer NOT NULL CHECK (line_no > 0),
                product_id text NOT NULL,
                quantity   integer NOT NULL CHECK (quantity > 0),
                unit_price numeric CHECK (unit_price >= 0),
                PRIMARY KEY (order_id, line_no)
            );

            CREATE TABLE order_events (
                id               bigint GENERATED ALWAYS AS IDENTITY,
                order_id         uuid NOT NULL,
                run_id           bigint,
                source           text NOT NULL,
                kind             text NOT NULL,
                from_status      text,
                to_status        text,
                tracking_company text,
                tracking_number  text,
                event_code       text,
                location         text,
                changed_fields   text[],
                event_at         timestamptz,
                recorded_at      timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (order_id, id)
            );
            CREATE INDEX order_events_run_idx ON order_events (run_id) WHERE run_id IS NOT NULL;

            CREATE TABLE order_status_transition (
                from_status text NOT NULL,
                to_status   text NOT NULL,
                PRIMARY KEY (from_status, to_status)
            );

            CREATE TABLE import_runs (
                id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                pipeline     text NOT NULL,
                kind         text NOT NULL,
                input_name   text NOT NULL,
                input_sha256 text NOT NULL,
                started_at   timestamptz NOT NULL,
                finished_at  timestamptz,
                status       text NOT NULL,
                counts       jsonb NOT NULL DEFAULT '{}',
                report       jsonb
            );
            CREATE INDEX import_runs_sha_idx ON import_runs (input_sha256, pipeline);
            """),
        Migration(version: 2, name: "API idempotency keys", sql: """
            CREATE TABLE api_idempotency_keys (
                key           text PRIMARY KEY,
                request_hash  text NOT NULL,
                order_id      uuid,
                response_body text,
                etag          text,
                created_at    timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX api_idempotency_keys_created_idx ON api_idempotency_keys (created_at);
            CREATE INDEX api_idempotency_keys_order_idx ON api_idempotency_keys (order_id);
            """),
        Migration(version: 3, name: "order_events.description (carrier event text)", sql: """
            ALTER TABLE order_events ADD COLUMN description text;
            """),
        Migration(version: 4, name: "shipments, shipment lines, shipment events, held events", sql: """
            CREATE TABLE shipments (
                order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
                id              bigint GENERATED ALWAYS AS IDENTITY,
                carrier         text NOT NULL,
                tracking_number text NOT NULL,
                status          text CHECK (status IN ('shipped', 'in_transit', 'out_for_delivery',
                                    'available_for_pickup', 'failed_attempt', 'exception', 'delivered', 'returned')),
                status_event_at timestamptz,
                shipped_at      timestamptz,
                delivered_at    timestamptz,
                attempts        integer NOT NULL DEFAULT 0,
                exception_code  text,
                exception_text  text,
                source          text NOT NULL,
                created_at      timestamptz NOT NULL,
                updated_at      timestamptz NOT NULL,
                PRIMARY KEY (order_id, id),
                CONSTRAINT shipments_order_tracking_key UNIQUE (order_id, carrier, tracking_number)
            );
            CREATE INDEX shipments_tracking_idx ON shipments (tracking_number, carrier);

            CREATE TABLE shipment_lines (
                order_id    uuid NOT NULL,
                shipment_id bigint NOT NULL,
                line_no     integer NOT NULL CHECK (line_no > 0),
                quantity    integer NOT NULL CHECK (quantity > 0),
                PRIMARY KEY (order_id, shipment_id, line_no),
                FOREIGN KEY (order_id, shipment_id) REFERENCES shipments (order_id, id) ON DELETE CASCADE
            );

            CREATE TABLE shipment_events (
                order_id        uuid NOT NULL,
                shipment_id     bigint NOT NULL,
                carrier         text NOT NULL,
                tracking_number text NOT NULL,
                event_code      text NOT NULL,
                event_at        timestamptz NOT NULL,
                status          text,
                location        text,
                description     text,
                run_id          bigint,
                recorded_at     timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (order_id, carrier, tracking_number, event_code, event_at),
                FOREIGN KEY (order_id, shipment_id) REFERENCES shipments (order_id, id) ON DELETE CASCADE
            );

            -- Carrier events that matched no order or shipment yet: released by a later run.
            -- Keyed by the shipment they name, not by an order (they have none yet).
            CREATE TABLE held_events (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                pipeline        text NOT NULL,
                source          text NOT NULL,
                carrier         text,
                tracking_number text,
                order_id        uuid,
                external_ref    text,
                event_code      text NOT NULL,
                status          text,
                event_at        timestamptz NOT NULL,
                location        text,
                description     text,
                line_no         integer,
                quantity        integer,
                run_id          bigint,
                held_at         timestamptz NOT NULL,
                expires_at      timestamptz NOT NULL,
                CONSTRAINT held_events_event_key UNIQUE NULLS NOT DISTINCT
                    (source, carrier, tracking_number, order_id, external_ref, event_code, event_at, line_no)
            );
            CREATE INDEX held_events_tracking_idx ON held_events (tracking_number, carrier);
            CREATE INDEX held_events_expires_idx ON held_events (expires_at);

            -- Every order's shipping info becomes its first shipment; history is untouched.
            INSERT INTO shipments (order_id, carrier, tracking_number, status, status_event_at, shipped_at,
                                   delivered_at, source, created_at, updated_at)
            SELECT id, coalesce(tracking_company, ''), tracking_number,
                   CASE WHEN status IN ('processing', 'cancelled') THEN NULL ELSE status END,
                   status_event_at,
                   -- Only a shipped order's status time is its ship time; later ones are unknown.
                   CASE WHEN status = 'shipped' THEN status_event_at END,
                   CASE WHEN status = 'delivered' THEN status_event_at END,
                   source, updated_at, updated_at
            FROM orders WHERE tracking_number IS NOT NULL;

            -- Matching by tracking number now reads shipments.
            DROP INDEX orders_tracking_idx;
            """),
        Migration(version: 5, name: "run history of every outcome", sql: """
            -- Failed, aborted, cancelled, skipped and dry runs are recorded too, after their
            -- rollback (docs/operations.md), so the history says why each night ended as it did.
            ALTER TABLE import_runs
                ADD COLUMN run_id        text,
                ADD COLUMN message       text,
                ADD COLUMN report_path   text,
                ADD COLUMN notifications jsonb,
                ADD CONSTRAINT import_runs_status_check
                    CHECK (status IN ('running', 'applied', 'dry_run', 'skipped', 'aborted', 'failed', 'cancelled'));
            CREATE INDEX import_runs_pipeline_idx ON import_runs (pipeline, id DESC);
            """),
        Migration(version: 6, name: "change xids for incremental exports, the export ledger", sql: """
            -- The transaction that last wrote a row (docs/export.md#incremental-exports). Inserts
            -- take the default; bulk UPDATEs set it themselves, and the trigger stamps any other
            -- update (the API, a DBA's hand) so no writer can change a row unseen. Existing rows
            -- get this migration's transaction: the first incremental export takes them all.
            -- orders and shipments get no index on it: an index would make every status update
            -- a non-HOT update, and a sequential scan of the column costs a fraction of an export.
            ALTER TABLE orders ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
            ALTER TABLE shipments ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
            -- History rows are only ever inserted: an index keeps a night's events a range scan.
            ALTER TABLE order_events ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
            CREATE INDEX order_events_change_xid_idx ON order_events (change_xid);
            -- A shipment's lines change without its row (a tracking feed's line records).
            ALTER TABLE shipment_lines ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();

            CREATE FUNCTION orderflow_stamp_change_xid() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.change_xid := pg_current_xact_id();
                RETURN NEW;
            END $$;
            -- WHEN is evaluated without calling the function: statements that set change_xid
            -- themselves (every bulk statement), and rows this transaction already stamped, pay
            -- two comparisons per row.
            CREATE TRIGGER orders_change_xid BEFORE UPDATE ON orders FOR EACH ROW
                WHEN (NEW.change_xid = OLD.change_xid AND OLD.change_xid <> pg_current_xact_id()) EXECUTE FUNCTION orderflow_stamp_change_xid();
            CREATE TRIGGER shipments_change_xid BEFORE UPDATE ON shipments FOR EACH ROW
                WHEN (NEW.change_xid = OLD.change_xid AND OLD.change_xid <> pg_current_xact_id()) EXECUTE FUNCTION orderflow_stamp_change_xid();

            -- Every export, with the snapshots it read between (incremental ones), its file and totals.
            CREATE TABLE export_runs (
                id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                export_id    text NOT NULL,
                pipeline     text NOT NULL,
                dataset      text NOT NULL,
                format       text NOT NULL,
                incremental  boolean NOT NULL,
                status       text NOT NULL CHECK (status IN ('exported', 'failed', 'cancelled')),
                message      text,
                cursor_from  pg_snapshot,
                cursor_to    pg_snapshot,
                period_from  timestamptz,
                period_to    timestamptz,
                output_path  text,
                rows         bigint,
                bytes        bigint,
                sha256       text,
                totals       jsonb,
                report       jsonb NOT NULL,
                started_at   timestamptz NOT NULL,
                finished_at  timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX export_runs_pipeline_idx ON export_runs (pipeline, dataset, id DESC);
            -- The file's bytes as written, so `export --rerun` writes them again after the rows moved on.
            CREATE TABLE export_files (
                export_run_id bigint NOT NULL REFERENCES export_runs (id) ON DELETE CASCADE,
                seq           integer NOT NULL,
                data          bytea NOT NULL,
                PRIMARY KEY (export_run_id, seq)
            );
            -- Compressed already (gzip, xlsx) or about to be read back whole: not worth TOAST's compression.
            ALTER TABLE export_files ALTER COLUMN data SET STORAGE EXTERNAL;
            """),
        Migration(version: 7, name: "run and export history by start time (the console's pages)", sql: """
            -- The console lists runs and exports together, newest first, a page at a time: each
            -- page is a range scan of these from the last row shown (docs/console.md).
            CREATE INDEX import_runs_started_idx ON import_runs (started_at, id);
            CREATE INDEX export_runs_started_idx ON export_runs (started_at, id);
            """),
    ]

    /// The version a fully migrated database has.
    public static var latestVersion: Int { all.last?.version ?? 0 }
}
