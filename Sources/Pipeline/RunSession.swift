import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    /// Sets the session up for a bulk run inside its transaction: the bulk-run lock, memory for
    /// the diff, and a schema this build knows.
    func prepareSession(_ conn: PostgresConnection) throws {
        try acquireLock(conn)
        try conn.query("SELECT set_config('work_mem', '256MB', true)")
        // Staging tables live in the session's local buffers (8 MB by default), which COPY of
        // millions of rows would churn; the setting must come before the first temp table.
        // 1 GB holds the staging of a 1M-order feed, so the diff's scans stay in memory (3-4 s
        // of a 15 s diff); it is an upper bound, allocated only as the tables grow.
        // A session that already used temp tables refuses the change; the savepoint keeps that
        // refusal from aborting the transaction.
        try conn.execute("SAVEPOINT temp_buffers")
        if (try? conn.query("SELECT set_config('temp_buffers', '1GB', true)")) == nil {
            try conn.execute("ROLLBACK TO SAVEPOINT temp_buffers")
        }
        try conn.execute("RELEASE SAVEPOINT temp_buffers")
        try Migrator().requireCurrent(conn)
    }

    /// Takes the bulk-run lock, waiting up to the timeout when another run holds it.
    func acquireLock(_ conn: PostgresConnection) throws {
        let got = try conn.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey)) AS ok").rows[0].decode("ok", as: Bool.self)
        if got { return }
        FileHandle.standardError.write(Data("orderflow: another bulk run holds the lock; waiting up to \(Int(options.lockTimeoutSeconds)) s (--lock-timeout)\n".utf8))
        try conn.query("SELECT set_config('lock_timeout', \("\(Int(options.lockTimeoutSeconds * 1000))ms"), true)")
        do {
            try conn.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
        } catch let error as PostgresError where error.isLockTimeout {
            throw RunError.lockTimeout("another orderflow run kept the bulk-run lock for more than \(Int(options.lockTimeoutSeconds)) s; try again later or raise --lock-timeout")
        }
        try conn.query("SELECT set_config('lock_timeout', '0', true)")
    }
}
