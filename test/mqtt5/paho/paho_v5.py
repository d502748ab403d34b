"""Drives Debian's paho-mqtt 1.6 in MQTT 5 mode against a broker on 127.0.0.1 and prints what
paho reports, one JSON object per line, for the test that runs it to compare exactly.

Usage: /usr/bin/python3 paho_v5.py <port> <scenario>
Scenarios: connack, properties, acks, request-response, alias-and-will. Every wait is bounded; the script exits
by itself, with status 1 if something it waited for never came.
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

WAIT_SEC = 5
PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]


def emit(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


class Waiter:
    """Collects callback results; get() waits for the next one, bounded."""

    def __init__(self):
        self.items = []
        self.cond = threading.Condition()

    def put(self, item):
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def get(self, what):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.items) > 0, WAIT_SEC):
                emit(error="no " + what + " within " + str(WAIT_SEC) + " s")
                sys.exit(1)
            return self.items.pop(0)


def codes(reason_codes):
    if not isinstance(reason_codes, list):
        reason_codes = [reason_codes]
    return [rc.value for rc in reason_codes]


def connect(client_id, properties=None):
    client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
    client.connacks = Waiter()
    client.messages = Waiter()
    client.subacks = Waiter()
    client.unsubacks = Waiter()
    client.published = Waiter()
    client.on_connect = lambda c, u, flags, rc, props: c.connacks.put((flags, rc, props))
    client.on_message = lambda c, u, msg: c.messages.put(msg)
    client.on_subscribe = lambda c, u, mid, rcs, props: c.subacks.put(codes(rcs))
    client.on_unsubscribe = lambda c, u, mid, props, rcs: c.unsubacks.put(codes(rcs))
    client.on_publish = lambda c, u, mid: c.published.put(mid)
    client.connect('127.0.0.1', PORT, keepalive=30, clean_start=True, properties=properties)
    client.loop_start()
    flags, rc, props = client.connacks.get('CONNACK')
    client.connack = {'session_present': flags['session present'], 'reason_code': rc.value, 'properties': props.json()}
    return client


def close(*clients):
    for client in clients:
        client.disconnect()
        client.loop_stop()


def publish_properties():
    props = Properties(PacketTypes.PUBLISH)
    # Repeated keys, interleaved: the order must survive [MQTT-3.3.2-18].
    props.UserProperty = ('site', 'north')
    props.UserProperty = ('unit', 'kWh')
    props.UserProperty = ('site', 'south')
    props.ContentType = 'application/json'
    props.CorrelationData = b'\x00\x01req-9\xff'
    props.ResponseTopic = 'replies/paho'
    props.PayloadFormatIndicator = 1
    return props


def received(msg):
    p = msg.properties
    return {
        'topic': msg.topic,
        'payload': msg.payload.decode(),
        'qos': msg.qos,
        'retain': msg.retain,
        'user_properties': [list(pair) for pair in getattr(p, 'UserProperty', [])],
        'content_type': getattr(p, 'ContentType', None),
        'correlation_data': getattr(p, 'CorrelationData', b'').hex(),
        'response_topic': getattr(p, 'ResponseTopic', None),
        'payload_format': getattr(p, 'PayloadFormatIndicator', None),
        'subscription_ids': getattr(p, 'SubscriptionIdentifier', None),
    }


def scenario_connack():
    props = Properties(PacketTypes.CONNECT)
    props.RequestResponseInformation = 1
    props.SessionExpiryInterval = 30
    client = connect('', props)
    emit(**client.connack)
    close(client)


def scenario_properties():
    sub = connect('paho-sub')
    sub_props = Properties(PacketTypes.SUBSCRIBE)
    sub_props.SubscriptionIdentifier = 77
    sub.subscribe('paho/#', options=SubscribeOptions(qos=2), properties=sub_props)
    emit(suback=sub.subacks.get('SUBACK'))
    pub = connect('paho-pub')
    for qos in (0, 1, 2):
        pub.publish('paho/meter', 'qos %d' % qos, qos=qos, properties=publish_properties())
        emit(**received(sub.messages.get('message')))
    close(sub, pub)


def scenario_acks():
    client = connect('paho-acks')
    # One filter good, one the broker cannot take (a shared subscription with no share name, MQTT
    # 5.0 4.8.2, which paho lets through), one with No Local: one reason code per filter.
    client.subscribe([('acks/good', SubscribeOptions(qos=1)), ('$share//acks', SubscribeOptions(qos=1)), ('acks/two', SubscribeOptions(qos=2, noLocal=True))])
    emit(suback=client.subacks.get('SUBACK'))
    client.unsubscribe(['acks/good', 'acks/never'])
    emit(unsuback=client.unsubacks.get('UNSUBACK'))
    # No Local: the client's own message on acks/two does not come back; a QoS 1 PUBACK completes.
    info = client.publish('acks/two', 'mine', qos=1)
    emit(published=client.published.get('PUBACK') == info.mid)
    other = connect('paho-other')
    other.publish('acks/two', 'theirs', qos=1)
    emit(**received(client.messages.get('message')))
    close(client, other)


def scenario_request_response():
    props = Properties(PacketTypes.CONNECT)
    props.RequestResponseInformation = 1
    requester = connect('paho-requester', props)
    reply_to = requester.connack['properties']['ResponseInformation'] + 'reply'
    requester.subscribe(reply_to, options=SubscribeOptions(qos=1))
    requester.subacks.get('SUBACK')
    responder = connect('paho-responder')
    responder.subscribe('service/echo', options=SubscribeOptions(qos=1))
    responder.subacks.get('SUBACK')
    request = Properties(PacketTypes.PUBLISH)
    request.ResponseTopic = reply_to
    request.CorrelationData = b'corr-42'
    requester.publish('service/echo', 'ping', qos=1, properties=request)
    asked = responder.messages.get('request')
    answer = Properties(PacketTypes.PUBLISH)
    answer.CorrelationData = asked.properties.CorrelationData
    answer.UserProperty = ('handled-by', 'paho-responder')
    responder.publish(asked.properties.ResponseTopic, asked.payload.decode() + ' pong', qos=1, properties=answer)
    emit(**received(requester.messages.get('response')))
    close(requester, responder)


def scenario_alias_and_will():
    sub = connect('paho-watch')
    sub.subscribe('tele/#', options=SubscribeOptions(qos=1))
    sub.subacks.get('SUBACK')
    will = Properties(PacketTypes.WILLMESSAGE)
    will.ContentType = 'text/plain'
    will.UserProperty = ('cause', 'asked')
    will.MessageExpiryInterval = 3600
    dev = mqtt.Client(client_id='paho-dev', protocol=mqtt.MQTTv5)
    dev.connacks = Waiter()
    dev.published = Waiter()
    dev.on_connect = lambda c, u, flags, rc, props: c.connacks.put((rc, props))
    dev.on_publish = lambda c, u, mid: c.published.put(mid)
    dev.will_set('tele/dev/status', 'offline', qos=1, properties=will)
    dev.connect('127.0.0.1', PORT, keepalive=30, clean_start=True)
    dev.loop_start()
    rc, props = dev.connacks.get('CONNACK')
    emit(topic_alias_maximum=props.TopicAliasMaximum)
    # The first PUBLISH sets alias 2 with its topic; the next ones send an empty topic and the alias.
    for payload, topic in (('first', 'tele/dev/temp'), ('second', ''), ('third', '')):
        alias = Properties(PacketTypes.PUBLISH)
        alias.TopicAlias = 2
        dev.publish(topic, payload, qos=1, properties=alias)
        dev.published.get('PUBACK')
        emit(**received(sub.messages.get('message')))
    # DISCONNECT with reason code 0x04: the broker publishes the will.
    dev.disconnect(reasoncode=mqtt.ReasonCodes(PacketTypes.DISCONNECT, 'Disconnect with will message'))
    dev.loop_stop()
    will_message = sub.messages.get('will')
    emit(expiry=will_message.properties.MessageExpiryInterval, **received(will_message))
    close(sub)


{
    'alias-and-will': scenario_alias_and_will,
    'connack': scenario_connack,
    'properties': scenario_properties,
    'acks': scenario_acks,
    'request-response': scenario_request_response,
}[SCENARIO]()
