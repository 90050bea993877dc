import Foundation
import Testing

extension Tag {
    /// Tests that talk to the real servers `scripts/services start` launches.
    @Tag public static var integration: Self
}

/// Runs `body` with a loopback port that refuses connections throughout: bound by a socket that never listens, so no
/// server another test starts meanwhile can take it (a port merely free when asked could be handed out again).
public func withDeadLoopbackPort<T>(_ body: (Int) async throws -> T) async throws -> T {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    return try await body(try bindLoopback(socket))
}

private func bindLoopback(_ socket: Int32) throws -> Int {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
    return Int(UInt16(bigEndian: address.sin_port))
}
