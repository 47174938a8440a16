import HTTPServer
import HTTPTestSupport

/// Starts a server on an ephemeral port for one test and always shuts it down.
enum TestServer {
    static func configuration(threads: Int = 1, _ adjust: (inout HTTPServerConfiguration) -> Void = { _ in })
        -> HTTPServerConfiguration
    {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = threads
        adjust(&configuration)
        return configuration
    }

    static func with(
        _ configuration: HTTPServerConfiguration = configuration(),
        routes: @escaping @Sendable (EventLoop) -> Router,
        _ body: (HTTPServer) throws -> Void
    ) throws {
        let server = HTTPServer(configuration: configuration, makeRouter: routes)
        try server.start()
        defer { server.shutdown(deadline: .seconds(2)) }
        try body(server)
    }
}
