import Foundation
import Postgres
import ServiceTestSupport
import Testing

/// No password in any message: real `bidengine serve`, `migrate` and `audit`
/// processes given malformed connection strings that carry a password, which libpq quotes in its
/// error; nothing they write (JSON log, stderr, stdout) may contain it.
@Suite(.serialized) struct SecretRedactionTests {
    // pragma: allowlist nextline secret (the fake password the test hunts for)
    static let password = "hunter2PW"

    static let connectionStrings = [
        "postgresql://u:\(password)@[::1/x",
        "postgresql://u:\(password)@host:notaport/db",
        // pragma: allowlist nextline secret (the same fake password, percent-encoded)
        "postgres://u:hunter2%50W@[::1/x",
        "host=/nonexistent password=\(password) port=x",
        "host=/nonexistent password='\(password)' sslmode=bogus",
    ]

    @Test(arguments: ["serve", "migrate", "audit"])
    func noCommandPrintsThePassword(command: String) throws {
        for connectionString in Self.connectionStrings {
            let outcome = try BidengineProcess.run(
                BidengineProcess.binary, [command],
                environment: ["DATABASE_URL": connectionString, "LOG_LEVEL": "debug", "PORT": "0"])
            let output = outcome.stdout + outcome.stderr
            #expect(outcome.status != 0, "\(command) with \(connectionString) succeeded")
            #expect(!output.isEmpty)
            #expect(!output.contains(Self.password), "\(command) leaked the password: \(output)")
            #expect(!output.contains("hunter2%50W"), "\(command) leaked the encoded password: \(output)")
        }
    }

    @Test func redactionFindsPasswordsInEveryForm() {
        #expect(
            ConnectionString.redacting(
                // pragma: allowlist nextline secret (the same fake password)
                #"invalid in URI: "postgresql://u:hunter2PW@[::1/x""#,
                connectionString: "postgresql://u:hunter2PW@[::1/x")  // pragma: allowlist secret (fake)
                == #"invalid in URI: "postgresql://u:****@[::1/x""#)
        #expect(
            ConnectionString.redacting(
                "x hunter2PW y",
                // pragma: allowlist nextline secret (the same fake password, percent-encoded)
                connectionString: "postgres://u:hunter2%50W@[::1/x")
                == "x **** y")
        #expect(
            // pragma: allowlist nextline secret (a fake key/value password)
            ConnectionString.redacting("saw 'a b'", connectionString: "password = 'a b' host=x") == "saw '****'")
        #expect(ConnectionString.redacting("no secret here", connectionString: "host=x") == "no secret here")
    }
}
