import Foundation
import NIOCore
import Synchronization

/// Who may send a public opt-out or access request now. Anyone may, without an
/// account, so the forms are kept from becoming a way to take the server down:
/// each client address may send `perAddress` requests in `window`, and at most
/// `queueLimit` public requests wait or run at once (they share one pipeline of
/// their own, never a search's). A refused request is answered 429 or 503 with
/// `Retry-After` before its body is read.
///
/// The limits are generous for people (one request is what a person sends) and
/// tight for a script. Behind a proxy every request has the proxy's address, so
/// the per-address limit then acts as a limit on all public requests together.
final class PublicRequestGate: Sendable {
    struct Limits: Sendable {
        var perAddress = 5
        var window: Duration = .seconds(900)
        var queueLimit = 4
    }

    enum Refusal: Error, Sendable {
        /// This address sent its share; try again after this many seconds.
        case tooMany(retryAfter: Int)
        /// Too many public requests wait already.
        case busy
    }

    let limits: Limits
    private let state = Mutex<(recent: [String: [ContinuousClock.Instant]], inFlight: Int)>(([:], 0))

    init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// Takes a place for a request from `address`, or says why not. Every place
    /// taken must be given back with `leave()`.
    func enter(from address: String, now: ContinuousClock.Instant = .now) throws(Refusal) {
        let result: Refusal? = state.withLock { state in
            var times = (state.recent[address] ?? []).filter { now - $0 < limits.window }
            if times.count >= limits.perAddress {
                state.recent[address] = times
                let wait = limits.window - (now - times[0])
                return .tooMany(retryAfter: max(1, Int(wait.components.seconds)))
            }
            guard state.inFlight < limits.queueLimit else { return .busy }
            times.append(now)
            state.recent[address] = times
            state.inFlight += 1
            // Addresses whose requests all left the window are forgotten, so the
            // table stays as small as the recent traffic.
            if state.recent.count > 10_000 {
                state.recent = state.recent.filter { _, times in times.contains { now - $0 < limits.window } }
            }
            return nil
        }
        if let result { throw result }
    }

    func leave() {
        state.withLock { $0.inFlight -= 1 }
    }

    /// The address a request came from, as the gate counts it.
    static func key(of address: SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }
}
