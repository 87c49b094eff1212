import OrderModel
import OrderStore

/// `GET /orders/{id}/history`: `{"events":[…]}`, every member of each event present.
enum HistoryJSON {
    static func render(_ events: [OrderHistoryEvent]) -> String {
        var json = JSONWriter(capacity: 64 + 256 * events.count)
        json.beginObject()
        json.objects("events", events) { json, event in
            json.member("at", event.at.description)
            json.member("type", event.origin.rawValue)
            json.member("kind", event.kind)
            json.member("fromStatus", event.fromStatus)
            json.member("toStatus", event.toStatus)
            json.member("status", event.status)
            json.member("carrier", event.carrier)
            json.member("trackingNumber", event.trackingNumber)
            json.member("eventCode", event.eventCode)
            json.member("location", event.location)
            json.member("description", event.text)
            json.member("source", event.source)
            json.key("runId")
            if let run = event.runId { json.number(Int(run)) } else { json.null() }
        }
        json.endObject()
        return json.text
    }
}
