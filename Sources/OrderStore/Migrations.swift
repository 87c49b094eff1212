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
    ]

    /// The version a fully migrated database has.
    public static var latestVersion: Int { all.last?.version ?? 0 }
}
