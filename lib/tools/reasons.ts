// The words Mosquitto's tools print for CONNACK return codes (MQTT 3.1.1, 3.2.2.3) and MQTT 5
// reason codes (MQTT 5.0, 2.4), so scripts that read their errors read ours the same way.
import { ReasonCode } from '../errors'

const CONNACK: Record<number, string> = {
  0: 'Connection Accepted.',
  1: 'Connection Refused: unacceptable protocol version.',
  2: 'Connection Refused: identifier rejected.',
  3: 'Connection Refused: broker unavailable.',
  4: 'Connection Refused: bad user name or password.',
  5: 'Connection Refused: not authorised.'
}

const R = ReasonCode
const REASONS: Record<number, string> = {
  [R.Success]: 'Success',
  [R.GrantedQoS1]: 'Granted QoS 1',
  [R.GrantedQoS2]: 'Granted QoS 2',
  [R.DisconnectWithWill]: 'Disconnect with Will Message',
  [R.NoMatchingSubscribers]: 'No matching subscribers',
  [R.NoSubscriptionExisted]: 'No subscription existed',
  [R.ContinueAuthentication]: 'Continue authentication',
  [R.ReAuthenticate]: 'Re-authenticate',
  [R.UnspecifiedError]: 'Unspecified error',
  [R.MalformedPacket]: 'Malformed Packet',
  [R.ProtocolError]: 'Protocol Error',
  [R.ImplementationSpecificError]: 'Implementation specific error',
  [R.UnsupportedProtocolVersion]: 'Unsupported Protocol Version',
  [R.ClientIdentifierNotValid]: 'Client Identifier not valid',
  [R.BadUserNameOrPassword]: 'Bad User Name or Password',
  [R.NotAuthorized]: 'Not authorized',
  [R.ServerUnavailable]: 'Server unavailable',
  [R.ServerBusy]: 'Server busy',
  [R.Banned]: 'Banned',
  [R.ServerShuttingDown]: 'Server shutting down',
  [R.BadAuthenticationMethod]: 'Bad authentication method',
  [R.KeepAliveTimeout]: 'Keep Alive timeout',
  [R.SessionTakenOver]: 'Session taken over',
  [R.TopicFilterInvalid]: 'Topic Filter invalid',
  [R.TopicNameInvalid]: 'Topic Name invalid',
  [R.PacketIdentifierInUse]: 'Packet Identifier in use',
  [R.PacketIdentifierNotFound]: 'Packet Identifier not found',
  [R.ReceiveMaximumExceeded]: 'Receive Maximum exceeded',
  [R.TopicAliasInvalid]: 'Topic Alias invalid',
  [R.PacketTooLarge]: 'Packet too large',
  [R.MessageRateTooHigh]: 'Message rate too high',
  [R.QuotaExceeded]: 'Quota exceeded',
  [R.AdministrativeAction]: 'Administrative action',
  [R.PayloadFormatInvalid]: 'Payload format invalid',
  [R.RetainNotSupported]: 'Retain not supported',
  [R.QoSNotSupported]: 'QoS not supported',
  [R.UseAnotherServer]: 'Use another server',
  [R.ServerMoved]: 'Server moved',
  [R.SharedSubscriptionsNotSupported]: 'Shared Subscriptions not supported',
  [R.ConnectionRateExceeded]: 'Connection rate exceeded',
  [R.MaximumConnectTime]: 'Maximum connect time',
  [R.SubscriptionIdentifiersNotSupported]: 'Subscription identifiers not supported',
  [R.WildcardSubscriptionsNotSupported]: 'Wildcard Subscriptions not supported'
}

/** An MQTT 3.1/3.1.1 CONNACK return code in words. */
export function connackString (code: number): string {
  return CONNACK[code] ?? 'Connection Refused: unknown reason.'
}

/** An MQTT 5 reason code in words. */
export function reasonString (code: number): string {
  return REASONS[code] ?? 'Unknown reason'
}
