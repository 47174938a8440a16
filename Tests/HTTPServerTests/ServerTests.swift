import Dispatch
import Foundation
import Glibc
import HTTPServer
import HTTPTestSupport
import Synchronization
import Testing

/// End-to-end tests over real sockets on an ephemeral port. Serialized because several measure
/// time and the machine has two cores.
@Suite(.serialized)
struct ServerTests {
    @Test func routesWithPathParametersAndQuery() throws {
        try TestServer.with(routes: { _ in
            var router = Router()
            router.add(.GET, "/api/bids/{id}") { request, responder in
                let text = "\(request.pathParameters["id"] ?? "-")|\(request.query["q"] ?? "-")|\(request.path)"
                responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
            }
            return router
        }) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            let response = try client.request("GET", "/api/bids/4%202?q=a+b%21&q=last")
            #expect(response.status == 200)
            #expect(response.text == "4 2|last|/api/bids/4 2")
            #expect(response.header("Content-Type") == "text/plain")
        }
    }

    @Test func unknownPathIs404Json() throws {
        try TestServer.with(routes: { _ in Router() }) { server in
            let response = try TestHTTPClient(port: server.boundPort).request("GET", "/nope")
            #expect(response.status == 404)
            #expect(response.text == #"{"error":"not found"}"#)
            #expect(response.header("Content-Type") == "application/json")
        }
    }

    @Test func wrongMethodIs405WithAllow() throws {
        try TestServer.with(routes: { _ in
            var router = Router()
            router.add(.POST, "/api/bids") { _, responder in responder.respond(status: 201) }
            router.add(.GET, "/api/bids") { _, responder in responder.respond(status: 200) }
            return router
        }) { server in
            let response = try TestHTTPClient(port: server.boundPort).request("DELETE", "/api/bids")
            #expect(response.status == 405)
            #expect(response.header("Allow") == "GET, POST, HEAD")
            #expect(response.text == #"{"error":"method not allowed"}"#)
        }
    }

    /// HEAD is answered wherever GET is, with GET's status and headers and no body: the GET that
    /// follows on the same connection is read intact.
    @Test func headIsAnsweredOnEveryGetRouteWithoutABody() throws {
        try TestServer.with(routes: { _ in
            var router = Router()
            router.add(.GET, "/healthz") { _, responder in
                responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: Array("ok".utf8))
            }
            router.add(.GET, "/api/bids/{id}") { request, responder in
                responder.respond(status: 200, body: Array((request.pathParameters["id"] ?? "-").utf8))
            }
            return router
        }) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            for path in ["/healthz", "/api/bids/42"] {
                let head = try client.request("HEAD", path)
                #expect(head.status == 200)
                #expect(head.body.isEmpty)
                let get = try client.request("GET", path)
                #expect(get.status == 200)
                #expect(get.text == (path == "/healthz" ? "ok" : "42"))
            }
            #expect(try client.request("HEAD", "/nope").status == 404)
        }
    }

    @Test func bodyOverLimitIs413() throws {
        try TestServer.with(routes: { _ in
            var router = Router()
            router.add(.POST, "/upload") { request, responder in
                responder.respond(status: 200, body: Array("\(request.body.count)".utf8))
            }
            return router
        }) { server in
            let small = try TestHTTPClient(port: server.boundPort).request(
                "POST", "/upload", body: [UInt8](repeating: 7, count: 65_536))
            #expect(small.status == 200)
            #expect(small.text == "65536")
            let large = try TestHTTPClient(port: server.boundPort).request(
                "POST", "/upload", body: [UInt8](repeating: 7, count: 70 * 1024))
            #expect(large.status == 413)
            #expect(large.header("Connection") == "close")
        }
    }

    @Test func keepAliveServesThreeRequestsOnOneConnection() throws {
        try TestServer.with(routes: { _ in
            var router = Router()
            router.add(.POST, "/echo") { request, responder in
                responder.respond(status: 200, body: request.body)
            }
            return router
        }) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            for index in 1...3 {
                let response = try client.request("POST", "/echo", body: Array("hello \(index)".utf8))
                #expect(response.status == 200)
                #expect(response.text == "hello \(index)")
                #expect(response.header("Connection") == nil)
            }
            #expect(server.openConnections == 1)
            #expect(server.inFlightRequests == 0)
            client.close()
            #expect(waitUntil { server.openConnections == 0 })
        }
    }

    @Test func handlerMayRespondLaterFromATimer() throws {
        try TestServer.with(routes: { loop in
            var router = Router()
            router.add(.GET, "/later") { _, responder in
                loop.schedule(after: .milliseconds(50)) {
                    responder.respond(status: 202, body: Array("late".utf8))
                }
            }
            return router
        }) { server in
            let started = ContinuousClock.now
            let response = try TestHTTPClient(port: server.boundPort).request("GET", "/later")
            #expect(response.status == 202)
            #expect(response.text == "late")
            #expect(ContinuousClock.now - started >= .milliseconds(45))
        }
    }

    @Test func inputPipelinedBehindABusyHandlerIsBounded() throws {
        // Reading goes on while a handler works, but only up to HTTPConnection's limit (64 KiB):
        // past it the server stops reading, the kernel's buffers fill, and the client stalls long
        // before 64 MiB. Reading everything would let it through (the kernel alone holds < 40 MiB).
        try TestServer.with(routes: { loop in
            var router = Router()
            router.add(.GET, "/later") { _, responder in
                loop.schedule(after: .milliseconds(1_500)) { responder.respond(status: 202, body: Array("late".utf8)) }
            }
            return router
        }) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            try client.send("GET /later HTTP/1.1\r\nHost: h\r\n\r\n")
            let junk = [UInt8](repeating: 0x41, count: 1 << 20)
            let accepted = client.sendUntilStalled(junk, limit: 64 << 20, stall: .milliseconds(300))
            #expect(accepted < 40 << 20, "the server kept reading: \(accepted) bytes accepted")
            let response = try client.readResponse()
            #expect(response.status == 202)
            #expect(response.text == "late")
        }
    }

    @Test func forgottenResponderAnswers500() throws {
        try TestServer.with(routes: { _ in
            var router = Router()
            router.add(.GET, "/forget") { _, _ in }
            return router
        }) { server in
            let response = try TestHTTPClient(port: server.boundPort).request("GET", "/forget")
            #expect(response.status == 500)
            #expect(response.text == #"{"error":"internal server error"}"#)
            #expect(server.inFlightRequests == 0)
        }
    }

    @Test func workFinishedOnAnotherThreadHopsBackWithExecute() throws {
        try TestServer.with(routes: { loop in
            var router = Router()
            router.add(.GET, "/offload") { _, responder in
                let worker = Thread {
                    let onLoopHere = loop.inEventLoop
                    loop.execute {
                        let text = "worker:\(onLoopHere) loop:\(loop.inEventLoop)"
                        responder.respond(status: 200, body: Array(text.utf8))
                    }
                }
                worker.start()
            }
            router.add(.GET, "/direct") { _, responder in
                Thread { responder.respond(status: 200, body: Array("direct".utf8)) }.start()
            }
            return router
        }) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            #expect(try client.request("GET", "/offload").text == "worker:false loop:true")
            #expect(try client.request("GET", "/direct").text == "direct")

            let ran = DispatchSemaphore(value: 0)
            let observed = Mutex<Bool?>(nil)
            let loop = server.loops[0]
            #expect(!loop.inEventLoop)
            loop.execute {
                observed.withLock { $0 = loop.inEventLoop }
                ran.signal()
            }
            #expect(ran.wait(timeout: .now() + 5) == .success)
            #expect(observed.withLock { $0 } == true)
        }
    }

    @Test func slowClientIsCutOffByRequestTimeout() throws {
        let configuration = TestServer.configuration { $0.requestTimeout = .milliseconds(300) }
        try TestServer.with(
            configuration,
            routes: { _ in
                var router = Router()
                router.add(.GET, "/x") { _, responder in responder.respond(status: 200) }
                return router
            }
        ) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            try client.send("GET /x HTTP/1.1\r\nHost: loc")
            let started = ContinuousClock.now
            // A trickle must not extend the deadline.
            Thread.sleep(forTimeInterval: 0.15)
            try client.send("alhost\r\n")
            #expect(client.waitForClose())
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(250))
            #expect(elapsed < .milliseconds(1_500))
            #expect(waitUntil { server.openConnections == 0 })
        }
    }

    @Test func handlerSlowerThanRequestTimeoutStillAnswers() throws {
        let configuration = TestServer.configuration { $0.requestTimeout = .milliseconds(200) }
        try TestServer.with(
            configuration,
            routes: { loop in
                var router = Router()
                router.add(.GET, "/slow") { _, responder in
                    loop.schedule(after: .milliseconds(500)) { responder.respond(status: 200, body: Array("ok".utf8)) }
                }
                return router
            }
        ) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            #expect(try client.request("GET", "/slow").text == "ok")
            #expect(try client.request("GET", "/slow").text == "ok")
        }
    }

    @Test func idleKeepAliveConnectionIsClosedAfterIdleTimeout() throws {
        let configuration = TestServer.configuration { $0.idleTimeout = .milliseconds(300) }
        try TestServer.with(
            configuration,
            routes: { _ in
                var router = Router()
                router.add(.GET, "/x") { _, responder in responder.respond(status: 204) }
                return router
            }
        ) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            #expect(try client.request("GET", "/x").status == 204)
            let started = ContinuousClock.now
            #expect(client.waitForClose())
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(250))
            #expect(elapsed < .milliseconds(1_500))
        }
    }

    @Test func gracefulShutdownAnswersTheRequestInFlight() throws {
        let arrived = DispatchSemaphore(value: 0)
        let server = HTTPServer(
            configuration: TestServer.configuration(),
            makeRouter: { loop in
                var router = Router()
                router.add(.GET, "/slow") { _, responder in
                    arrived.signal()
                    loop.schedule(after: .milliseconds(200)) {
                        responder.respond(status: 200, body: Array("done".utf8))
                    }
                }
                return router
            })
        try server.start()
        let port = server.boundPort
        let idle = try TestHTTPClient(port: port)
        let busy = try TestHTTPClient(port: port)
        try busy.send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(arrived.wait(timeout: .now() + 5) == .success)

        let stopped = DispatchSemaphore(value: 0)
        let shutdownTook = Mutex<Duration?>(nil)
        Thread {
            let started = ContinuousClock.now
            server.shutdown(deadline: .seconds(5))
            shutdownTook.withLock { $0 = ContinuousClock.now - started }
            stopped.signal()
        }.start()

        let response = try busy.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "done")
        #expect(response.header("Connection") == "close")
        #expect(idle.waitForClose())
        #expect(stopped.wait(timeout: .now() + 5) == .success)
        let took = try #require(shutdownTook.withLock { $0 })
        #expect(took >= .milliseconds(150))
        #expect(took < .seconds(2))
        #expect(server.inFlightRequests == 0)
        #expect(server.openConnections == 0)
        #expect(throws: TestHTTPClient.Failure.self) { try TestHTTPClient(port: port) }
        server.waitUntilStopped()
    }

    @Test func twoLoopsAnswerAThousandRequestsFromEightClients() throws {
        let configuration = TestServer.configuration(threads: 2)
        try TestServer.with(
            configuration,
            routes: { _ in
                var router = Router()
                router.add(.POST, "/bids/{id}") { request, responder in
                    responder.respond(
                        status: 200, body: Array("\(request.pathParameters["id"]!):\(request.body.count)".utf8))
                }
                return router
            }
        ) { server in
            #expect(server.loops.count == 2)
            let ok = Atomic<Int>(0)
            let done = DispatchSemaphore(value: 0)
            for clientIndex in 0..<8 {
                let port = server.boundPort
                Thread {
                    defer { done.signal() }
                    guard let client = try? TestHTTPClient(port: port) else { return }
                    for index in 0..<125 {
                        let id = clientIndex * 1000 + index
                        let response = try? client.request("POST", "/bids/\(id)", body: Array("{\"n\":\(index)}".utf8))
                        if response?.status == 200, response?.text == "\(id):\("{\"n\":\(index)}".utf8.count)" {
                            ok.add(1, ordering: .relaxed)
                        }
                    }
                }.start()
            }
            for _ in 0..<8 { #expect(done.wait(timeout: .now() + 10) == .success) }
            #expect(ok.load(ordering: .relaxed) == 1_000)
            #expect(server.inFlightRequests == 0)
        }
    }

    @Test func bindingATakenPortFailsWithAClearError() throws {
        try TestServer.with(routes: { _ in Router() }) { server in
            var configuration = TestServer.configuration()
            configuration.port = server.boundPort
            let second = HTTPServer(configuration: configuration, makeRouter: { _ in Router() })
            #expect(throws: HTTPServerError.bindFailed(host: "127.0.0.1", port: server.boundPort, errno: EADDRINUSE)) {
                try second.start()
            }
            #expect(
                HTTPServerError.bindFailed(host: "127.0.0.1", port: 80, errno: EADDRINUSE).description
                    == "cannot listen on 127.0.0.1:80: Address already in use (errno 98)")
        }
    }
}

/// Polls `condition` for up to two seconds: counters updated by close callbacks lag the client.
func waitUntil(_ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .seconds(2)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}
