import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection that holds the server without using it: a request head
/// that takes longer than `head` to arrive (counted from the connection opening or
/// the previous answer: slow headers and idle keep-alive connections alike), or a
/// request body that takes longer than `body`. Without these a client sending a
/// byte every few seconds keeps a connection, and its memory, for ever.
///
/// It sits in each connection's pipeline after HTTP decoding. Work that has been
/// read in full is timed by the request timeout instead, not here.
final class ConnectionDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable {
        /// From the connection opening or the last answer to a complete request head.
        var head: TimeAmount = .seconds(20)
        /// From a request head to the end of its body.
        var body: TimeAmount = .seconds(120)
    }

    private let limits: Limits
    private var timer: Scheduled<Void>?
    /// Requests whose heads were read and whose answers are not yet written.
    private var open = 0

    init(limits: Limits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, limits.head) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, limits.head)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            open += 1
            arm(context, limits.body)
        case .body:
            break
        case .end:
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            open = max(0, open - 1)
            if open == 0 { arm(context, limits.head) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: TimeAmount) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) { bound.value.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
