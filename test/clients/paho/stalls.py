"""Debian's paho-mqtt 1.6 in MQTT 5 mode as the two awkward clients of a broker's write path,
printing what happened as JSON lines.

Usage: /usr/bin/python3 stalls.py <port> stalled <client id> <keepalive sec> <filter>
       /usr/bin/python3 stalls.py <port> inflight <payload bytes>

stalled:  subscribes to <filter> at QoS 1, prints {"subscribed": [...]}, then stops calling
          loop(): it neither reads nor pings, as an application whose network thread is stuck.
          It exits by itself after HOLD_SEC.
inflight: sends a PUBLISH the broker refuses (topic alias 1000), then at once a large one, and
          prints the reason paho reports from on_disconnect: the broker's DISCONNECT reason
          code, or paho's own "connection lost" (7) when a reset or broken pipe came first.
Every wait is bounded; a wait that runs out ends the script with status 1.
"""
import json
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

WAIT_SEC = 10
HOLD_SEC = 60
PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]


def emit(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def loop_until(client, done, what):
    deadline = time.time() + WAIT_SEC
    while not done():
        if time.time() > deadline:
            emit(error="no " + what + " within " + str(WAIT_SEC) + " s")
            sys.exit(1)
        client.loop(0.05)


def connect(client_id, keepalive, state):
    client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, u, flags, rc, props: state.update(connack=rc.value)
    client.connect('127.0.0.1', PORT, keepalive=keepalive, clean_start=True)
    loop_until(client, lambda: 'connack' in state, 'CONNACK')
    return client


def stalled(client_id, keepalive, topic_filter):
    state = {}
    client = connect(client_id, int(keepalive), state)
    client.on_subscribe = lambda c, u, mid, rcs, props: state.update(suback=[rc.value for rc in rcs])
    client.subscribe(topic_filter, qos=1)
    loop_until(client, lambda: 'suback' in state, 'SUBACK')
    emit(connack=state['connack'], subscribed=state['suback'])
    # From here on nothing is read and nothing is sent.
    time.sleep(HOLD_SEC)


def inflight(payload_bytes):
    state = {}
    client = connect('paho-inflight', 30, state)

    def on_disconnect(c, u, rc, props=None):
        state['reason'] = getattr(rc, 'value', rc)
        state['properties'] = props.json() if props is not None else None
    client.on_disconnect = on_disconnect
    refused = Properties(PacketTypes.PUBLISH)
    refused.TopicAlias = 1000
    client.publish('paho/refused', b'x', qos=0, properties=refused)
    client.publish('paho/large', b'y' * int(payload_bytes), qos=0)
    loop_until(client, lambda: 'reason' in state, 'disconnect')
    emit(reason=state['reason'], properties=state['properties'])


if SCENARIO == 'stalled':
    stalled(*sys.argv[3:6])
elif SCENARIO == 'inflight':
    inflight(sys.argv[3])
else:
    emit(error='unknown scenario ' + SCENARIO)
    sys.exit(1)
