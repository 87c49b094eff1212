// Generated from docs/openapi.yaml by scripts/gen-openapi; do not edit.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: orderflow order API
  version: 1.0.0
  description: |
    The order REST API served by `orderflow serve`. It keeps the contract of the service it replaces
    (camelCase members, explicit nulls, UTC timestamps with milliseconds) and adds reads, ETags,
    idempotent creates and RFC 9457 problem responses. Every change is recorded in order_events
    with source "api". Identifier fields accept at most 200 UTF-8 bytes and no control characters.
servers:
  - url: http://127.0.0.1:3000
security:
  - bearerAuth: []
paths:
  /orders:
    post:
      operationId: createOrder
      summary: Create an order (status processing).
      parameters:
        - $ref: '#/components/parameters/IdempotencyKey'
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: '#/components/schemas/CreateOrder' }
      responses:
        '201':
          description: The created order (or, for a repeated Idempotency-Key with the same request, the original response).
          headers:
            ETag: { $ref: '#/components/headers/ETag' }
            Location: { description: The order's URL., schema: { type: string } }
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Order' }
        '400': { $ref: '#/components/responses/BadRequest' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '409': { $ref: '#/components/responses/Conflict' }
        '413': { $ref: '#/components/responses/TooLarge' }
        '415': { $ref: '#/components/responses/UnsupportedMediaType' }
        '422': { $ref: '#/components/responses/IdempotencyKeyReused' }
        '503': { $ref: '#/components/responses/Unavailable' }
    get:
      operationId: listOrders
      summary: List orders by createdAt then id, filtered, one page at a time.
      parameters:
        - { name: customerId, in: query, schema: { $ref: '#/components/schemas/Identifier' } }
        - { name: status, in: query, schema: { $ref: '#/components/schemas/Status' } }
        - { name: createdFrom, in: query, description: Inclusive lower bound of createdAt., schema: { type: string, format: date-time } }
        - { name: createdTo, in: query, description: Exclusive upper bound of createdAt., schema: { type: string, format: date-time } }
        - name: cursor
          in: query
          description: The nextCursor of the previous page.
          schema: { type: string, pattern: '^[0-9]{1,16}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 200, default: 50 } }
      responses:
        '200':
          description: One page of orders.
          content:
            application/json:
              schema: { $ref: '#/components/schemas/OrderPage' }
        '400': { $ref: '#/components/responses/BadRequest' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '503': { $ref: '#/components/responses/Unavailable' }
  /orders/{id}:
    parameters:
      - $ref: '#/components/parameters/OrderID'
    get:
      operationId: getOrder
      summary: One order.
      responses:
        '200': { $ref: '#/components/responses/Order' }
        '400': { $ref: '#/components/responses/BadRequest' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '404': { $ref: '#/components/responses/NotFound' }
        '503': { $ref: '#/components/responses/Unavailable' }
    delete:
      operationId: deleteOrder
      summary: Delete an order (its history stays).
      parameters:
        - $ref: '#/components/parameters/IfMatch'
      responses:
        '204': { description: Deleted. }
        '400': { $ref: '#/components/responses/BadRequest' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '404': { $ref: '#/components/responses/NotFound' }
        '412': { $ref: '#/components/responses/PreconditionFailed' }
        '503': { $ref: '#/components/responses/Unavailable' }
  /orders/{id}/status:
    parameters:
      - $ref: '#/components/parameters/OrderID'
    patch:
      operationId: updateOrderStatus
      summary: Move the order to another status (the shared transition rules apply; the same status is a no-op).
      parameters:
        - $ref: '#/components/parameters/IfMatch'
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [status]
              properties:
                status: { $ref: '#/components/schemas/Status' }
      responses:
        '200': { $ref: '#/components/responses/Order' }
        '400': { $ref: '#/components/responses/BadRequest' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '404': { $ref: '#/components/responses/NotFound' }
        '409': { $ref: '#/components/responses/Conflict' }
        '412': { $ref: '#/components/responses/PreconditionFailed' }
        '413': { $ref: '#/components/responses/TooLarge' }
        '415': { $ref: '#/components/responses/UnsupportedMediaType' }
        '503': { $ref: '#/components/responses/Unavailable' }
  /orders/{id}/shipping:
    parameters:
      - $ref: '#/components/parameters/OrderID'
    patch:
      operationId: updateOrderShipping
      summary: Set (or, with nulls, clear) the carrier and tracking number; known carriers are normalized (fedex → FedEx).
      parameters:
        - $ref: '#/components/parameters/IfMatch'
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [trackingCompany, trackingNumber]
              properties:
                trackingCompany: { $ref: '#/components/schemas/NullableIdentifier' }
                trackingNumber: { $ref: '#/components/schemas/NullableIdentifier' }
      responses:
        '200': { $ref: '#/components/responses/Order' }
        '400': { $ref: '#/components/responses/BadRequest' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '404': { $ref: '#/components/responses/NotFound' }
        '412': { $ref: '#/components/responses/PreconditionFailed' }
        '413': { $ref: '#/components/responses/TooLarge' }
        '415': { $ref: '#/components/responses/UnsupportedMediaType' }
        '503': { $ref: '#/components/responses/Unavailable' }
  /health/live:
    get:
      operationId: live
      summary: The process answers.
      security: []
      responses:
        '200':
          description: Live.
          content:
            application/json:
              schema: { type: object, required: [status], properties: { status: { const: live } } }
  /health/ready:
    get:
      operationId: ready
      summary: The database answers too.
      security: []
      responses:
        '200':
          description: Ready.
          content:
            application/json:
              schema: { type: object, required: [status], properties: { status: { const: ready } } }
        '503': { $ref: '#/components/responses/Unavailable' }
  /openapi.yaml:
    get:
      operationId: openapi
      summary: This document.
      security: []
      responses:
        '200':
          description: The OpenAPI document.
          content:
            application/yaml:
              schema: { type: object }
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      description: A token from ORDERFLOW_API_TOKENS or the server's tokens file; only required when the server has tokens.
  parameters:
    OrderID:
      name: id
      in: path
      required: true
      schema: { type: string, format: uuid }
    IfMatch:
      name: If-Match
      in: header
      description: Apply only if the order's ETag is one of these (or *); otherwise 412.
      schema: { type: string }
    IdempotencyKey:
      name: Idempotency-Key
      in: header
      description: Repeating a create with the same key and request returns the first response; another request under the key is 422.
      schema: { type: string, pattern: '^[!-~]{1,255}$' }
  headers:
    ETag:
      description: Changes whenever the order changes; send it back in If-Match.
      schema: { type: string }
  responses:
    Order:
      description: The whole order.
      headers:
        ETag: { $ref: '#/components/headers/ETag' }
      content:
        application/json:
          schema: { $ref: '#/components/schemas/Order' }
    BadRequest:
      description: Invalid input; errors names every offending field.
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    Unauthorized:
      description: Missing or unknown bearer token.
      headers:
        WWW-Authenticate: { schema: { type: string } }
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    NotFound:
      description: No order with this id.
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    Conflict:
      description: An illegal status transition (from and to given) or a duplicate externalRef.
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    PreconditionFailed:
      description: If-Match does not match the current ETag.
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    TooLarge:
      description: The body is larger than the server's limit.
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    UnsupportedMediaType:
      description: The body is not application/json.
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    IdempotencyKeyReused:
      description: The Idempotency-Key was used before with a different request.
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
    Unavailable:
      description: The database is unreachable or a lock wait timed out; retry.
      headers:
        Retry-After: { required: true, schema: { type: string } }
      content:
        application/problem+json:
          schema: { $ref: '#/components/schemas/Problem' }
  schemas:
    Identifier:
      type: string
      minLength: 1
      maxLength: 200
      pattern: '^ *[^ \x00-\x1F\x7F][^\x00-\x1F\x7F]*$'
    NullableIdentifier:
      oneOf:
        - $ref: '#/components/schemas/Identifier'
        - type: 'null'
    Status:
      type: string
      enum: [processing, shipped, in_transit, out_for_delivery, available_for_pickup, failed_attempt, exception, delivered, returned, cancelled]
    Currency:
      type: string
      enum: [AED, AFN, ALL, AMD, ANG, AOA, ARS, AUD, AWG, AZN, BAM, BBD, BDT, BGN, BHD, BIF, BMD, BND, BOB, BRL, BSD, BTN, BWP, BYN, BZD, CAD, CDF, CHF, CLP, CNY, COP, CRC, CUP, CVE, CZK, DJF, DKK, DOP, DZD, EGP, ERN, ETB, EUR, FJD, FKP, GBP, GEL, GHS, GIP, GMD, GNF, GTQ, GYD, HKD, HNL, HTG, HUF, IDR, ILS, INR, IQD, IRR, ISK, JMD, JOD, JPY, KES, KGS, KHR, KMF, KPW, KRW, KWD, KYD, KZT, LAK, LBP, LKR, LRD, LSL, LYD, MAD, MDL, MGA, MKD, MMK, MNT, MOP, MRU, MUR, MVR, MWK, MXN, MYR, MZN, NAD, NGN, NIO, NOK, NPR, NZD, OMR, PAB, PEN, PGK, PHP, PKR, PLN, PYG, QAR, RON, RSD, RUB, RWF, SAR, SBD, SCR, SDG, SEK, SGD, SHP, SLE, SOS, SRD, SSP, STN, SVC, SYP, SZL, THB, TJS, TMT, TND, TOP, TRY, TTD, TWD, TZS, UAH, UGX, USD, UYU, UZS, VES, VND, VUV, WST, XAF, XCD, XCG, XOF, XPF, YER, ZAR, ZMW, ZWG]
    Price:
      type: string
      description: Decimal text, never a binary number.
      pattern: '^[0-9]{1,12}(\.[0-9]{1,6})?$'
    ProductInput:
      type: object
      required: [productId, quantity]
      properties:
        productId: { $ref: '#/components/schemas/Identifier' }
        quantity: { type: integer, minimum: 1, maximum: 1000000 }
        unitPrice:
          oneOf:
            - $ref: '#/components/schemas/Price'
            - type: 'null'
    CreateOrder:
      type: object
      required: [customerId, products]
      properties:
        customerId: { $ref: '#/components/schemas/Identifier' }
        products:
          type: array
          minItems: 1
          maxItems: 1000
          items: { $ref: '#/components/schemas/ProductInput' }
        externalRef: { $ref: '#/components/schemas/NullableIdentifier' }
        currency:
          oneOf:
            - $ref: '#/components/schemas/Currency'
            - type: 'null'
    Product:
      type: object
      required: [productId, quantity]
      properties:
        productId: { type: string }
        quantity: { type: integer }
        unitPrice: { $ref: '#/components/schemas/Price' }
    Order:
      type: object
      required: [customerId, products, trackingCompany, trackingNumber, id, status, createdAt, updatedAt]
      properties:
        customerId: { type: string }
        products: { type: array, items: { $ref: '#/components/schemas/Product' } }
        trackingCompany: { type: [string, 'null'] }
        trackingNumber: { type: [string, 'null'] }
        id: { type: string, format: uuid }
        status: { $ref: '#/components/schemas/Status' }
        createdAt: { type: string, format: date-time, examples: ['2024-09-17T03:21:38.892Z'] }
        updatedAt: { type: string, format: date-time }
        externalRef: { type: string, description: Present when set. }
        currency: { type: string, description: Present when set. }
    OrderPage:
      type: object
      required: [orders, nextCursor]
      properties:
        orders: { type: array, items: { $ref: '#/components/schemas/Order' } }
        nextCursor: { type: [string, 'null'], description: Pass as cursor for the next page; null on the last. }
    Problem:
      type: object
      description: RFC 9457 problem details.
      required: [type, title, status]
      properties:
        type: { type: string }
        title: { type: string }
        status: { type: integer }
        detail: { type: string }
        instance: { type: string }
        from: { $ref: '#/components/schemas/Status' }
        to: { $ref: '#/components/schemas/Status' }
        errors:
          type: array
          items:
            type: object
            required: [field, message]
            properties:
              field: { type: string }
              message: { type: string }

"""#
}
