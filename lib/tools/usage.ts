// --help of `roost pub`, `roost sub` and `roost rr`: the flags of mosquitto_pub, mosquitto_sub and
// mosquitto_rr that these tools take, one line each.
import type { ToolName } from './args'

const CONNECTION = `Connection:
  -h host        broker host name or address (default localhost)
  -p port        broker port (default 1883; 8883 with --cafile, --capath or --psk)
  -L url         mqtt(s)://[username[:password]@]host[:port]/topic instead of -h, -p, -u, -P, -t
  -u username    user name
  -P password    password
  -i id          client id (default: the broker assigns one)
  -I prefix      client id made of this prefix and the process id
  -k seconds     keepalive, 5 to 65535 (default 60)
  -c             keep the session (clean session off); needs -i
  -x seconds     MQTT 5 session expiry interval; -1 or ∞ for never
  -V version     mqttv31, mqttv311 or mqttv5
  -D command property value
                 an MQTT 5 property for connect, publish, subscribe, disconnect or will
                 (user-property takes a key and a value); sets MQTT 5
  -d             print the packets sent and received
  --quiet        print no error messages
  --will-topic topic  --will-payload text  --will-qos qos  --will-retain
                 the Last Will the broker publishes if the connection is lost
TLS:
  --cafile file  --capath dir   CA certificates to trust (turns TLS on)
  --cert file  --key file       client certificate and its key
  --insecure                    do not check the server's host name
  --tls-version tlsv1.3|tlsv1.2|tlsv1.1
  --ciphers list  --tls-alpn protocol  --tls-use-os-certs
  --psk hex  --psk-identity id  TLS-PSK instead of certificates
`

const PUB = `roost pub publishes a message, or each line of its input, and exits.

Usage: roost pub {-t topic | -L url} {-m message | -f file | -s | -l | -n} [options]

Message:
  -t topic       topic to publish to
  -m message     the message
  -f file        the contents of a file
  -s             everything read from stdin as one message
  -l             each line read from stdin as a message
  -n             an empty message
  -q qos         0, 1 or 2 (default 0)
  -r             retain the message
  -M count       QoS 1 and 2 messages in flight at once (default 20)
  --repeat n  --repeat-delay seconds   publish -m, -f or -s n times
${CONNECTION}
Exit codes: 0 sent; 1 bad arguments or no connection; a CONNACK return (MQTT 3) or reason
code (MQTT 5) when the broker refuses; 7 when the connection is lost.
`

const PRINTING = `Printing:
  -v             print the topic before the payload
  -N             no newline after each message
  -F format      %t topic  %p payload  %x %X payload in hex  %l length  %q qos  %r retain
                 %m message id  %j %J JSON (%J: payload as JSON)  %I ISO 8601 time
                 %U Unix time  %P user properties  %C content type  %D correlation data
                 %E expiry interval  %F payload format  %R response topic  %S subscription id
                 %A topic alias  %% a percent sign; flags -, 0, width and .precision;
                 @c strftime time codes (@N nanoseconds, @@ an at sign);
                 \\n \\t \\r \\a \\e \\v \\0 \\\\ escapes
  --pretty       indented JSON for %j and %J
  -W seconds     give up after this long (exit code 27)
`

const SUB = `roost sub subscribes to topics and prints the messages it receives.

Usage: roost sub {-t filter ... | -L url} [options]

Subscription:
  -t filter      topic filter to subscribe to; repeatable
  -q qos         subscription QoS (default 0)
  -C count       exit after this many messages
  -R             do not print retained messages
  -T filter      do not print messages matching this filter; repeatable
  -U filter      unsubscribe from this filter; repeatable
  -E             exit once subscribed
  --retained-only        print retained messages, exit at the first other one
  --remove-retained      clear each retained message received
  --retain-as-published  MQTT 5: keep the retain flag as it was published
  --random-filter chance print only this percentage of messages
${PRINTING}${CONNECTION}
Exit codes: 0 done; 1 bad arguments or no connection; a CONNACK return (MQTT 3) or reason
code (MQTT 5) when the broker refuses; 27 when -W runs out.
`

const RR = `roost rr publishes a request and prints the response (MQTT 5 request / response).

Usage: roost rr {-t topic | -L url} -e response-topic {-m message | -f file | -s | -n} [options]

Request:
  -t topic       topic of the request
  -e topic       response topic: subscribed to, and sent as the request's Response Topic
  -m message  -f file  -s  -n   the request, as for roost pub
  -q qos         QoS of the request and of the subscription
${PRINTING}${CONNECTION}
Exit codes: 0 answered; 1 bad arguments or no connection; a reason code when the broker
refuses; 7 when the connection is lost; 27 when -W runs out.
`

export const USAGE: Record<ToolName, string> = { pub: PUB, sub: SUB, rr: RR }
