import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    /// Takes the bulk-run lock, waiting up to the timeout when another run holds it.
    func acquireLock(_ conn: PostgresConnection) throws {
        let got = try conn.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey)) AS ok").rows[0].decode("ok", as: Bool.self)
        if got { return }
        FileHandle.standardError.write(Data("orderflow: another bulk run holds the lock; waiting up to \(Int(options.lockTimeoutSeconds)) s (--lock-timeout)\n".utf8))
        try conn.query("SELECT set_config('lock_timeout', \("\(Int(options.lockTimeoutSeconds * 1000))ms"), true)")
        do {
            try conn.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
        } catch let error as PostgresError where error.isLockTimeout {
            throw RunError.configuration("another orderflow run kept the bulk-run lock for more than \(Int(options.lockTimeoutSeconds)) s; try again later or raise --lock-timeout")
        }
        try conn.query("SELECT set_config('lock_timeout', '0', true)")
    }
}
