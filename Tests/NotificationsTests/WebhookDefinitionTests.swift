import DefinitionFile
import Foundation
import Notifications
import Testing

@Suite struct WebhookDefinitionTests {
    static func webhooks(_ yaml: String) throws -> [WebhookDefinition] {
        try WebhookDefinition.list(in: try YAMLMap.root(yaml: yaml, file: "nightly.yaml", expected: "a pipeline"))
    }

    /// The key a bad file's error names.
    static func failingKey(_ yaml: String) -> String? {
        do {
            _ = try webhooks(yaml)
            return nil
        } catch let error as DefinitionError {
            return error.key
        } catch {
            return "not a DefinitionError: \(error)"
        }
    }

    @Test func readsEveryKey() throws {
        let list = try Self.webhooks("""
            name: nightly
            notify:
              - url: https://hooks.example.com/orderflow
                on: [failed, applied_with_rejects]
                secret_env: ORDERFLOW_WEBHOOK_SECRET
                format: slack
                timeout_seconds: 2.5
                retries: 0
                backoff_seconds: 0
              - url: http://10.0.0.7:8080/hook
            """)
        #expect(list.count == 2)
        #expect(list[0] == WebhookDefinition(
            url: URL(string: "https://hooks.example.com/orderflow")!, on: [.failed, .appliedWithRejects],
            secretEnv: "ORDERFLOW_WEBHOOK_SECRET", format: .slack, timeoutSeconds: 2.5, retries: 0, backoffSeconds: 0))
        #expect(list[1].url.absoluteString == "http://10.0.0.7:8080/hook")
    }

    @Test func anEntryWithOnlyAURLGetsTheDefaults() throws {
        let webhook = try #require(try Self.webhooks("notify:\n  - url: https://h.example.com/x\n").first)
        #expect(webhook.on == [.failed, .aborted, .cancelled])
        #expect(webhook.secretEnv == nil)
        #expect(webhook.format == .json)
        #expect(webhook.timeoutSeconds == 10)
        #expect(webhook.retries == 3)
        #expect(webhook.backoffSeconds == 1)
    }

    @Test func noNotifyKeyIsNoWebhooks() throws {
        #expect(try Self.webhooks("name: nightly\n").isEmpty)
    }

    @Test func oneEventMayBeWrittenWithoutAList() throws {
        #expect(try Self.webhooks("notify:\n  - url: https://h.example.com/x\n    on: dry_run\n").first?.on == [.dryRun])
    }

    @Test func everyEventNameIsKnown() throws {
        let all = NotifyEvent.allCases.map(\.rawValue).joined(separator: ", ")
        #expect(try Self.webhooks("notify:\n  - url: https://h.example.com/x\n    on: [\(all)]\n").first?.on == NotifyEvent.allCases)
    }

    @Test(arguments: [
        ("notify: https://h.example.com/x", "notify"),
        ("notify:\n  - https://h.example.com/x", "notify[0]"),
        ("notify:\n  - url: https://h.example.com/x\n  - url: https://h.example.com/y\n    colour: red", "notify[1].colour"),
        ("notify:\n  - on: [failed]", "notify[0].url"),
        ("notify:\n  - url: ftp://h.example.com/x", "notify[0].url"),
        ("notify:\n  - url: https:///x", "notify[0].url"),
        ("notify:\n  - url: not a url", "notify[0].url"),
        ("notify:\n  - url: https://h.example.com/x\n    on: [failed, exploded]", "notify[0].on"),
        ("notify:\n  - url: https://h.example.com/x\n    on: []", "notify[0].on"),
        ("notify:\n  - url: https://h.example.com/x\n    on: {failed: true}", "notify[0].on"),
        ("notify:\n  - url: https://h.example.com/x\n    secret_env: 'MY SECRET'", "notify[0].secret_env"),
        ("notify:\n  - url: https://h.example.com/x\n    format: xml", "notify[0].format"),
        ("notify:\n  - url: https://h.example.com/x\n    timeout_seconds: ten", "notify[0].timeout_seconds"),
        ("notify:\n  - url: https://h.example.com/x\n    timeout_seconds: 0", "notify[0].timeout_seconds"),
        ("notify:\n  - url: https://h.example.com/x\n    timeout_seconds: true", "notify[0].timeout_seconds"),
        ("notify:\n  - url: https://h.example.com/x\n    retries: 11", "notify[0].retries"),
        ("notify:\n  - url: https://h.example.com/x\n    retries: -1", "notify[0].retries"),
        ("notify:\n  - url: https://h.example.com/x\n    retries: 1.5", "notify[0].retries"),
        ("notify:\n  - url: https://h.example.com/x\n    retries: three", "notify[0].retries"),
        ("notify:\n  - url: https://h.example.com/x\n    backoff_seconds: -0.5", "notify[0].backoff_seconds"),
        ("notify:\n  - url: https://h.example.com/x\n    backoff_seconds: soon", "notify[0].backoff_seconds"),
    ])
    func aBadEntryNamesItsKey(yaml: String, key: String) {
        #expect(Self.failingKey(yaml) == key)
    }

    @Test func theErrorSaysWhatWasExpected() throws {
        let error = #expect(throws: DefinitionError.self) {
            try Self.webhooks("notify:\n  - url: https://h.example.com/x\n    on: [exploded]\n")
        }
        #expect(error?.file == "nightly.yaml")
        #expect(error?.expected.contains("applied_with_rejects") == true)
        #expect(error?.expected.contains("exploded") == true)
    }

    @Test func aSecretIsMissingWhenItsVariableIsUnsetOrEmpty() {
        let signed = WebhookDefinition(url: URL(string: "https://h.example.com/x")!, secretEnv: "HOOK_KEY")
        #expect(signed.missingSecret(in: [:]) == "HOOK_KEY")
        #expect(signed.missingSecret(in: ["HOOK_KEY": ""]) == "HOOK_KEY")
        #expect(signed.missingSecret(in: ["HOOK_KEY": "s3cret"]) == nil)
        #expect(WebhookDefinition(url: URL(string: "https://h.example.com/x")!).missingSecret(in: [:]) == nil)
    }
}
