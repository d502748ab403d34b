// Errors the client engine gives to callers: one class with a stable code, so the Node-RED nodes
// (and anyone else) can tell "not connected" from "invalid topic" without parsing messages.

export type ClientErrorCode =
  | 'INVALID_OPTIONS'     // createClient() was given a bad value
  | 'INVALID_PACKET'      // a topic, filter, QoS, property or payload that cannot be sent
  | 'PACKET_TOO_LARGE'    // over the server's (or our own) maximum packet size
  | 'NOT_CONNECTED'       // a QoS 0 publish while no connection is up
  | 'QUEUE_FULL'          // the offline queue holds maxQueuedMessages already
  | 'NOT_SUPPORTED'       // the server said it does not allow this (QoS, retain)
  | 'REFUSED'             // CONNACK with a failure code, or an acknowledgement with one
  | 'CONNECT_TIMEOUT'     // no CONNACK within connectTimeoutMs
  | 'PING_TIMEOUT'        // no answer to PINGREQ: the connection is dead
  | 'PROTOCOL_ERROR'      // the server broke the protocol
  | 'SERVER_DISCONNECT'   // the server sent DISCONNECT (MQTT 5)
  | 'CLOSED'              // end() was called
  | 'CONNECTION_LOST'     // the connection ended while a re-authentication waited for the server

export class ClientError extends Error {
  constructor (readonly code: ClientErrorCode, message: string, readonly reasonCode?: number) {
    super(message)
    this.name = 'ClientError'
  }
}
