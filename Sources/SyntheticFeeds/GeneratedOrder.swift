@preconcurrency import Glibc
import Feeds
import OrderModel

/// One generated order in integer form, rendered straight to bytes by `OutputBuffer`.
struct GeneratedOrder {
    var index = 0
    var ref = 0
    var customer = 0
    var status = OrderStatus.processing
    var currency = 0
    var createdMillis: Int64 = 0
    var carrier = 0
    var hasTracking = false
    // Bumped when a snapshot relabels the parcel, so its number changes.
    var trackingVersion = 0
    var items: [GeneratedLine] = []
}

struct GeneratedLine {
    var product: Int
    var quantity: Int
    var priceCents: Int64
}
